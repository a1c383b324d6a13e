#include "core/settings.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace playground::core {
namespace {

std::string ErrorOf(const std::map<std::string, std::string>& raw) {
  try {
    ResolveSettings(raw);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidation);
    return e.what();
  }
  return "";
}

TEST(SettingsTest, DefaultsAreValidAndPointSqliteIntoTheDataDir) {
  Settings s = ResolveSettings({});
  EXPECT_EQ(s.port, 8000);
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.environment, "development");
  EXPECT_EQ(s.api_prefix, "/api/v1");
  EXPECT_EQ(s.database_url, "sqlite://./data/playground.db");
  EXPECT_EQ(s.read_timeout, std::chrono::seconds(30));
  EXPECT_FALSE(s.debug);
}

TEST(SettingsTest, ValuesOverrideDefaults) {
  Settings s = ResolveSettings({{"PORT", "9001"},
                                {"DEBUG", "True"},
                                {"DATA_DIR", "/tmp/x/"},
                                {"CORS_ORIGINS", "http://localhost:5173, http://localhost"},
                                {"DB_BUSY_TIMEOUT_MS", "250"}});
  EXPECT_EQ(s.port, 9001);
  EXPECT_TRUE(s.debug);
  EXPECT_EQ(s.database_url, "sqlite:///tmp/x/playground.db");
  ASSERT_EQ(s.cors_origins.size(), 2u);
  EXPECT_EQ(s.cors_origins[1], "http://localhost");
  EXPECT_EQ(s.db_busy_timeout, std::chrono::milliseconds(250));
}

TEST(SettingsTest, BadValuesNameTheSettingAndItsFlag) {
  EXPECT_NE(ErrorOf({{"PORT", "eighty"}}).find("PORT (--port)"), std::string::npos);
  EXPECT_NE(ErrorOf({{"PORT", "70000"}}).find("outside 0..65535"), std::string::npos);
  EXPECT_NE(ErrorOf({{"DEBUG", "maybe"}}).find("DEBUG"), std::string::npos);
  EXPECT_NE(ErrorOf({{"ENVIRONMENT", "prod"}}).find("not one of development | staging | production"),
            std::string::npos);
  EXPECT_NE(ErrorOf({{"DATABASE_URL", "mysql://x"}}).find("DATABASE_URL"), std::string::npos);
  EXPECT_NE(ErrorOf({{"API_V1_PREFIX", "api"}}).find("API_V1_PREFIX"), std::string::npos);
  EXPECT_NE(ErrorOf({{"CORS_ORIGINS", "localhost"}}).find("CORS_ORIGINS"), std::string::npos);
}

TEST(SettingsTest, ProductionRefusesMissingOrWeakSecretKey) {
  EXPECT_NE(ErrorOf({{"ENVIRONMENT", "production"}}).find("SECRET_KEY"), std::string::npos);
  EXPECT_NE(ErrorOf({{"ENVIRONMENT", "production"}, {"SECRET_KEY", "short"}}).find("too weak"), std::string::npos);
  EXPECT_NE(ErrorOf({{"ENVIRONMENT", "production"}, {"SECRET_KEY", std::string(40, 'a')}}).find("too weak"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf({{"ENVIRONMENT", "production"}, {"SECRET_KEY", "changeme-changeme-changeme-changeme!"}}).find("too weak"),
      std::string::npos);
  Settings s =
      ResolveSettings({{"ENVIRONMENT", "production"}, {"SECRET_KEY", "6f1c0d8e2b7a49c3a5e4f0b9d2c8e7a16f1c0d8e"}});
  EXPECT_TRUE(s.production());
}

TEST(SettingsTest, MarkdownTableListsEverySettingAndHidesNoSecretsDefaults) {
  std::string md = SettingsMarkdown();
  for (const auto& spec : SettingSpecs()) {
    EXPECT_NE(md.find("`" + spec.env + "`"), std::string::npos) << spec.env;
    EXPECT_NE(md.find("`--" + spec.flag + "`"), std::string::npos) << spec.flag;
  }
}

}  // namespace
}  // namespace playground::core

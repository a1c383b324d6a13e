#include "testkit/accounts.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace playground::testkit {

using nlohmann::json;

std::string SignUp(HttpClient& c, const std::string& email, const std::string& admin_token, const std::string& role) {
  if (admin_token.empty()) {
    auto r = c.Post("/api/v1/auth/register", json{{"email", email}, {"password", kTestPassword}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
  } else {
    auto r = c.Post("/api/v1/admin/users", json{{"email", email}, {"password", kTestPassword}, {"role", role}}.dump(),
                    "application/json", {{"Authorization", Bearer(admin_token)}});
    EXPECT_EQ(r.status, 201) << r.body;
  }
  auto login = c.Post("/api/v1/auth/login", json{{"email", email}, {"password", kTestPassword}}.dump());
  EXPECT_EQ(login.status, 200) << login.body;
  return login.Json().value("access_token", "");
}

}  // namespace playground::testkit

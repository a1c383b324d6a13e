#include <gtest/gtest.h>

#include "api/api.h"
#include "core/error.h"

namespace playground::api {
namespace {

TEST(PolicyTest, ARouteWithoutAnAccessPolicyStopsStartUp) {
  http::Router router;
  router.Get("/declared", [](http::Request&) { return http::Response::Empty(204); }).Allow(http::Access::kPublic);
  EXPECT_NO_THROW(CheckPolicies(router));
  router.Post("/forgotten", [](http::Request&) { return http::Response::Empty(204); });
  try {
    CheckPolicies(router);
    FAIL() << "no error";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("POST /forgotten"), std::string::npos) << e.what();
  }
}

TEST(PolicyTest, OwnershipAnswersNotFoundToOthers) {
  http::Caller owner{"u1", "a@x.io", "member", "s", "", ""};
  http::Caller other{"u2", "b@x.io", "member", "s", "", ""};
  http::Caller admin{"u3", "c@x.io", "admin", "s", "", ""};
  EXPECT_NO_THROW(RequireOwnerOrAdmin(owner, "u1", "dataset", "d1"));
  EXPECT_NO_THROW(RequireOwnerOrAdmin(admin, "u1", "dataset", "d1"));
  try {
    RequireOwnerOrAdmin(other, "u1", "dataset", "d1");
    FAIL() << "no error";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kNotFound);
  }
  EXPECT_THROW(RequireOwnerOrAdmin(other, "", "dataset", "d1"), core::Error);  // no such resource at all
}

}  // namespace
}  // namespace playground::api

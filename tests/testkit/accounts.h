// Accounts for black-box tests: sign up (or have an admin create) an account and sign it in.
#pragma once

#include <string>

#include "testkit/http_client.h"

namespace playground::testkit {

inline const std::string kTestPassword = "correct horse battery";

inline std::string Bearer(const std::string& token) { return "Bearer " + token; }

// Registers (or, given an admin's token, creates with `role`) an account and signs it in;
// returns its access token. Records a test failure when a step fails.
std::string SignUp(HttpClient& c, const std::string& email, const std::string& admin_token = "",
                   const std::string& role = "");

}  // namespace playground::testkit

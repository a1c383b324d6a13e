#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>

#include "core/error.h"
#include "jobs/broker.h"
#include "redis/redis_client.h"

namespace playground::jobs {
namespace {

using redis::Reply;

constexpr const char* kGroup = "workers";

// KEYS: published set, stream. ARGV: job ids. Adds each id not yet published to the stream, so
// that publishing again (after a restart, or periodically) never duplicates a job in Redis.
constexpr std::string_view kPublishScript = R"(
local added = 0
for _, id in ipairs(ARGV) do
  if redis.call('SADD', KEYS[1], id) == 1 then
    redis.call('XADD', KEYS[2], '*', 'job', id)
    added = added + 1
  end
end
return added)";

// KEYS: published set, stream. ARGV: group, then pairs of entry id and job id. Each entry is
// done: acknowledged, deleted from the stream (nothing reads it again), and its job may be
// published again.
constexpr std::string_view kAckScript = R"(
for i = 2, #ARGV, 2 do
  redis.call('XACK', KEYS[2], ARGV[1], ARGV[i])
  redis.call('XDEL', KEYS[2], ARGV[i])
  redis.call('SREM', KEYS[1], ARGV[i + 1])
end
return 1)";

bool IsNoGroup(const redis::ServerError& e) { return e.prefix() == "NOGROUP"; }

// One stream entry [id, [field, value, ...]] as a delivery; nullopt for a deleted entry.
std::optional<Delivery> EntryToDelivery(const Reply& entry) {
  if (entry.type() != Reply::Type::kArray || entry.elements().size() < 2) return std::nullopt;
  const Reply& fields = entry.elements()[1];
  if (fields.type() != Reply::Type::kArray) return std::nullopt;
  for (size_t i = 0; i + 1 < fields.elements().size(); i += 2) {
    if (fields.elements()[i].str() == "job") return Delivery{fields.elements()[i + 1].str(), entry.elements()[0].str()};
  }
  return std::nullopt;
}

// Safe for concurrent use: the client is; reclaimed_ is guarded by mu_.
class RedisBroker final : public Broker {
 public:
  explicit RedisBroker(const RedisBrokerOptions& o)
      : client_([&] {
          redis::RedisOptions ro;
          ro.url = o.url;
          ro.pool_size = o.pool_size;
          return ro;
        }()),
        published_(o.key_prefix + "published"),
        stream_(o.key_prefix + "stream") {}

  void Publish(const std::vector<std::string>& job_ids) override {
    constexpr size_t kBatch = 500;
    for (size_t i = 0; i < job_ids.size(); i += kBatch) {
      std::vector<std::string> batch(
          job_ids.begin() + static_cast<std::ptrdiff_t>(i),
          job_ids.begin() + static_cast<std::ptrdiff_t>(std::min(job_ids.size(), i + kBatch)));
      client_.Eval(kPublishScript, {published_, stream_}, batch);
    }
  }

  std::vector<Delivery> Next(const std::string& consumer, std::chrono::milliseconds wait, size_t max) override {
    max = std::max<size_t>(max, 1);
    std::vector<Delivery> out;
    {
      std::lock_guard lock(mu_);
      while (!reclaimed_.empty() && out.size() < max) {
        out.push_back(std::move(reclaimed_.front()));
        reclaimed_.pop_front();
      }
    }
    if (!out.empty()) return out;
    // The block must end before the client's command timeout (2 s by default).
    auto block = std::clamp<int64_t>(wait.count(), 1, 1000);
    try {
      Reply r = client_.Command({"XREADGROUP", "GROUP", kGroup, consumer, "COUNT", std::to_string(max), "BLOCK",
                                 std::to_string(block), "STREAMS", stream_, ">"});
      if (r.is_nil() || r.elements().empty()) return out;
      for (const Reply& entry : r.elements()[0].elements().at(1).elements()) {
        if (auto d = EntryToDelivery(entry)) out.push_back(std::move(*d));
      }
      return out;
    } catch (const redis::ServerError& e) {
      if (!IsNoGroup(e)) throw;
      EnsureGroup();  // a new or wiped Redis
      return out;
    }
  }

  void Ack(const std::vector<Delivery>& deliveries) override {
    constexpr size_t kBatch = 500;  // pairs per script call
    std::vector<std::string> args{kGroup};
    for (const auto& d : deliveries) {
      if (d.tag.empty()) continue;
      args.push_back(d.tag);
      args.push_back(d.job_id);
      if (args.size() > 2 * kBatch) {
        client_.Eval(kAckScript, {published_, stream_}, args);
        args.resize(1);
      }
    }
    if (args.size() > 1) client_.Eval(kAckScript, {published_, stream_}, args);
  }

  void Maintain(const std::vector<std::string>& due, const std::string& consumer,
                std::chrono::milliseconds stale_after) override {
    Publish(due);
    if (consumer.empty()) return;
    try {
      Reply r = client_.Command(
          {"XAUTOCLAIM", stream_, kGroup, consumer, std::to_string(stale_after.count()), "0-0", "COUNT", "100"});
      if (r.type() != Reply::Type::kArray || r.elements().size() < 2) return;
      std::lock_guard lock(mu_);
      for (const Reply& entry : r.elements()[1].elements()) {
        if (auto d = EntryToDelivery(entry)) reclaimed_.push_back(std::move(*d));
      }
    } catch (const redis::ServerError& e) {
      if (!IsNoGroup(e)) throw;
      EnsureGroup();
    }
  }

  void WakeAll() override {}  // blocked reads end within a second

 private:
  void EnsureGroup() {
    try {
      client_.Command({"XGROUP", "CREATE", stream_, kGroup, "0", "MKSTREAM"});
    } catch (const redis::ServerError& e) {
      if (e.prefix() != "BUSYGROUP") throw;  // another process made it first
    }
  }

  redis::RedisClient client_;
  const std::string published_;
  const std::string stream_;
  std::mutex mu_;
  std::deque<Delivery> reclaimed_;  // taken over by XAUTOCLAIM, waiting for a worker thread
};

}  // namespace

std::unique_ptr<Broker> MakeRedisBroker(const RedisBrokerOptions& options) {
  return std::make_unique<RedisBroker>(options);
}

}  // namespace playground::jobs

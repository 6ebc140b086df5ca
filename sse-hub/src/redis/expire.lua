-- Ends, with an error, every channel whose producer's lease ran out (its
-- instance was lost, or cut off from Redis for longer than the lease):
-- what `publish.lua` does for an end, for each. Any instance runs it; the
-- first to see a lease expired ends the channel, once.
--
-- KEYS[1]  the leases: a sorted set, channel -> deadline in ms
-- ARGV[1]  the key prefix
-- ARGV[2]  the end event without its id line, encoded once by sse-codec
-- ARGV[3]  the end event's data (JSON), kept in the meta hash as `end`
-- ARGV[4]  an ended channel's time to live in ms
-- ARGV[5]  the most log entries kept (MAXLEN ~)
--
-- Returns the channels it ended.
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ms)
local ended = {}
for _, channel in ipairs(expired) do
  redis.call('ZREM', KEYS[1], channel)
  local meta_key = ARGV[1] .. 'meta:' .. channel
  local log_key = ARGV[1] .. 'log:' .. channel
  local meta = redis.call('HMGET', meta_key, 'epoch', 'ended')
  if meta[1] and not meta[2] then
    local seq = redis.call('HINCRBY', meta_key, 'seq', 1)
    local frame = ':end\n' .. 'id: ' .. meta[1] .. '-' .. seq .. '\n' .. ARGV[2]
    redis.call('XADD', log_key, 'MAXLEN', '~', ARGV[5], seq .. '-0', 'f', frame)
    redis.call('HSET', meta_key, 'ended', seq, 'end', ARGV[3])
    redis.call('PEXPIRE', meta_key, ARGV[4])
    redis.call('PEXPIRE', log_key, ARGV[4])
    redis.call('PUBLISH', ARGV[1] .. 'live:' .. channel, frame)
    ended[#ended + 1] = channel
  end
end
return ended

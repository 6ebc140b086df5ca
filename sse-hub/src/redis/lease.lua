-- Takes or renews this instance's leases: each channel's deadline, by
-- Redis's clock, `ttl` from now.
--
-- KEYS[1]  the leases: a sorted set, channel -> deadline in ms
-- ARGV[1]  the lease's time to live in ms
-- ARGV[2..] the channels
local now = redis.call('TIME')
local deadline = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], deadline, ARGV[i])
end
return #ARGV - 1

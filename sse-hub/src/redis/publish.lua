-- Publishes one event on a channel, atomically: the channel's next position,
-- the frame appended to its log, and the frame sent to every instance.
--
-- KEYS[1]  the channel's meta hash: `epoch`, `seq`
-- KEYS[2]  the channel's log: a stream whose entry ids are `<seq>-0`
-- KEYS[3]  the producers' leases (an end takes the channel's away)
-- ARGV[1]  the channel's pub/sub name
-- ARGV[2]  the frame without its id line, encoded once by sse-codec
-- ARGV[3]  the most log entries kept (MAXLEN ~)
-- ARGV[4]  the log's time to live in ms after this publish, 0 for none
-- ARGV[5]  the meta hash's time to live in ms after this publish, 0 for none
-- ARGV[6]  '1' when the frame is the channel's end event, else '0'
-- ARGV[7]  the end event's data (JSON), kept in the meta hash as `end`
-- ARGV[8]  an ended channel's time to live in ms
-- ARGV[9]  the channel's name (an end takes its lease away)
--
-- Returns { epoch, seq }; the event's SSE id is `<epoch>-<seq>`.
--
-- The end of a channel is one more entry, marked by a `:end` comment line
-- in front (a reader's hint; clients are given the frame without it); the
-- meta hash then holds `ended` (its seq) and `end`, and both keys expire
-- after ARGV[8]. Ending an ended channel returns the end's position and
-- changes nothing; a publish after the end opens the channel again.
--
-- The epoch is made from the server's clock when the meta hash is missing:
-- the channel is new, or Redis lost it (restart without persistence,
-- FLUSHALL, expiry). An id from before the loss then names another epoch,
-- and readers answer it with the reset event instead of a silent gap. A log
-- left over without its meta hash belongs to a lost epoch and is deleted.
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'ended')
local epoch = meta[1]
local ending = ARGV[6] == '1'
if ending and meta[2] then
  return { epoch, tonumber(meta[2]) }
end
if not epoch then
  local now = redis.call('TIME')
  epoch = now[1] .. string.format('%06d', tonumber(now[2]))
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
-- The only SSE syntax outside sse-codec: an `id` line, whose value is digits
-- and one `-`, before the fields sse-codec wrote. Field order within an
-- event does not matter to a reader.
local frame = 'id: ' .. epoch .. '-' .. seq .. '\n' .. ARGV[2]
if ending then
  frame = ':end\n' .. frame
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'f', frame)
if ending then
  redis.call('HSET', KEYS[1], 'ended', seq, 'end', ARGV[7])
  redis.call('ZREM', KEYS[3], ARGV[9])
  redis.call('PEXPIRE', KEYS[1], ARGV[8])
  redis.call('PEXPIRE', KEYS[2], ARGV[8])
else
  if meta[2] then
    -- Opened again after its end: the end's time to live no longer holds.
    redis.call('HDEL', KEYS[1], 'ended', 'end')
    redis.call('PERSIST', KEYS[1])
    redis.call('PERSIST', KEYS[2])
  end
  if ARGV[4] ~= '0' then
    redis.call('PEXPIRE', KEYS[2], ARGV[4])
  end
  if ARGV[5] ~= '0' then
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
  end
end
redis.call('PUBLISH', ARGV[1], frame)
return { epoch, seq }

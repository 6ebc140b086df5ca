-- Reads a channel's position and, in the same atomic step, the frames of its
-- log after a sequence number.
--
-- KEYS[1]  the channel's meta hash
-- KEYS[2]  the channel's log
-- ARGV[1]  read the frames with a sequence number above this one
-- ARGV[2]  ... and at most this one, or '+' for up to the latest
--
-- Returns { epoch or nil, latest seq, { frame, ... }, seq of the end or nil }. The frames are what
-- the log still holds of that range, oldest first; the caller checks that
-- none is missing.
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'seq', 'ended')
if not meta[1] then
  return { false, 0, {}, false }
end
local head = tonumber(meta[2])
local upto = head
if ARGV[2] ~= '+' then
  upto = math.min(head, tonumber(ARGV[2]))
end
local after = tonumber(ARGV[1])
local frames = {}
if upto > after then
  local entries = redis.call('XRANGE', KEYS[2], (after + 1) .. '-0', upto .. '-0')
  for i, entry in ipairs(entries) do
    frames[i] = entry[2][2]
  end
end
return { meta[1], head, frames, meta[3] }

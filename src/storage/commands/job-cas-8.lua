--[[
  Compare-and-set of a job record: writes the next record only if nobody wrote since it was read,
  keeps the active sets in step with the status, extends or replaces the epoch history, and may
  record a model in the same atomic step (a job succeeds exactly when its model exists). A job that
  ends (leaves the active sets) joins the outbox of ended jobs to announce, in the same step, so its
  webhook event and search step cannot be lost between this write and their sending.

  Input:
    KEYS[1] job record
    KEYS[2] job revision counter
    KEYS[3] the tenant's active (queued or running) job set
    KEYS[4] job history list
    KEYS[5] every tenant's active job set
    KEYS[6] model record            (written only when ARGV[8] is not '')
    KEYS[7] the tenant's model index (written only when ARGV[8] is not '')
    KEYS[8] every tenant's ended jobs not yet announced (sorted set, score: ms when it ended)

    ARGV[1] expected revision
    ARGV[2] next record JSON
    ARGV[3] job id
    ARGV[4] active sets: '1' add, '0' remove (the job ended: it joins KEYS[8]), '' leave
    ARGV[5] history: '' keep, 'append' push ARGV[9…], 'replace' clear then push ARGV[9…]
    ARGV[6] model record JSON
    ARGV[7] model creation time (ms, the index score)
    ARGV[8] model id, or '' for no model
    ARGV[9…] history entries (JSON) to push

  Output:
    1 written
    0 the revision moved: the caller reads again and retries
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('INCR', KEYS[2])
if ARGV[4] == '1' then
  redis.call('SADD', KEYS[3], ARGV[3])
  redis.call('SADD', KEYS[5], ARGV[3])
elseif ARGV[4] == '0' then
  redis.call('SREM', KEYS[3], ARGV[3])
  redis.call('SREM', KEYS[5], ARGV[3])
  local t = redis.call('TIME')
  redis.call('ZADD', KEYS[8], t[1] * 1000 + math.floor(t[2] / 1000), ARGV[3])
end
if ARGV[5] == 'replace' then redis.call('DEL', KEYS[4]) end
if ARGV[5] ~= '' then
  for i = 9, #ARGV, 1000 do redis.call('RPUSH', KEYS[4], unpack(ARGV, i, math.min(i + 999, #ARGV))) end
end
if ARGV[8] ~= '' then
  redis.call('SET', KEYS[6], ARGV[6])
  redis.call('ZADD', KEYS[7], ARGV[7], ARGV[8])
end
return 1

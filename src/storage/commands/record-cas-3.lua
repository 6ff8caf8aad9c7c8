--[[
  Compare-and-set of a leased record (a batch prediction): writes the next record only if nobody
  wrote since it was read, and keeps the set of active (queued or running) records in step.

  Input:
    KEYS[1] record
    KEYS[2] record revision counter
    KEYS[3] every tenant's active record set

    ARGV[1] expected revision
    ARGV[2] next record JSON
    ARGV[3] record id
    ARGV[4] active set: '1' add, '0' remove, '' leave

  Output:
    1 written
    0 the revision moved: the caller reads again and retries
]]
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('INCR', KEYS[2])
if ARGV[4] == '1' then
  redis.call('SADD', KEYS[3], ARGV[3])
elseif ARGV[4] == '0' then
  redis.call('SREM', KEYS[3], ARGV[3])
end
return 1

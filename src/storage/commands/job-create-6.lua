--[[
  Creates a job record, unless the tenant already has the maximum of queued or running jobs.

  Input:
    KEYS[1] job record
    KEYS[2] job revision counter
    KEYS[3] the tenant's active (queued or running) job set
    KEYS[4] the tenant's job index (sorted set scored by creation time)
    KEYS[5] job history list
    KEYS[6] every tenant's active job set

    ARGV[1] record JSON
    ARGV[2] job id
    ARGV[3] creation time (ms, the index score)
    ARGV[4] most active jobs the tenant may have (0 = no cap)

  Output:
    1 created
   -1 the cap is reached: nothing written
]]
if tonumber(ARGV[4]) > 0 and redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[4]) then return -1 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], '1')
redis.call('DEL', KEYS[5])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[6], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
return 1

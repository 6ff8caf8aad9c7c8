--[[
  Appends epochs to a running job's history if the attempt with this lease token still owns the
  job. Only the epoch right after the last recorded one is taken, so each epoch is recorded once.
  Never reads or rewrites the history itself.

  Input:
    KEYS[1] job record
    KEYS[2] job revision counter
    KEYS[3] job history list

    ARGV[1] lease token of the attempt
    ARGV[2…] entries as pairs: epoch number, entry JSON

  Output:
    {owned, cancelRequested, appended}
      owned            1 when the lease matches and the job runs, else 0 (and nothing written)
      cancelRequested  1 when a cancel was requested
      appended         how many entries were pushed (from the first that follows the history)
]]
local raw = redis.call('GET', KEYS[1])
if not raw then return {0, 0, 0} end
local rec = cjson.decode(raw)
local lease = rec.lease
if type(lease) ~= 'table' or lease.token ~= ARGV[1] or rec.data.status ~= 'running' then return {0, 0, 0} end
local cancel = 0
if rec.data.cancelRequested == true then cancel = 1 end
local n = redis.call('LLEN', KEYS[3])
local added = 0
for i = 2, #ARGV, 2 do
  if tonumber(ARGV[i]) == n + 1 then
    redis.call('RPUSH', KEYS[3], ARGV[i + 1])
    n = n + 1
    added = added + 1
  end
end
if added > 0 then redis.call('INCR', KEYS[2]) end
return {1, cancel, added}

-- Argo CD health check for neo4j.graphops.io/Neo4jBackup (docs/gitops/README.md).
-- argocd-cm key: resource.customizations.health.neo4j.graphops.io_Neo4jBackup
-- Written for Argo CD's restricted Lua VM (gopher-lua, Lua 5.1): only the base and table
-- libraries, so no string.* calls. Tested by unit.gitops_lua (hack/gitops-check).
--
-- Order: no status for this generation yet → Progressing; refused (Stalled: invalid spec,
-- missing or Community cluster, bad schedule or zone) → Degraded; spec.suspend → Suspended;
-- the newest run failed or the schedule is overdue (BackupHealthy=False) → Degraded;
-- waiting for the cluster's databases → Progressing; a schedule that runs → Healthy (also
-- before its first run and while a run is in progress: a nightly Job must not turn the
-- application Progressing every night); a one-shot backup → Healthy once it succeeded,
-- Progressing until then.
local hs = {}

local function condition(ctype)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c == nil then
    return fallback
  end
  local reason = c.reason
  local message = c.message
  if reason ~= nil and message ~= nil and message ~= "" then
    return reason .. ": " .. message
  end
  if message ~= nil and message ~= "" then
    return message
  end
  if reason ~= nil then
    return reason
  end
  return fallback
end

local generation = obj.metadata.generation
local status = obj.status
if status == nil or status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end
if generation ~= nil and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation ..
    " (status is for " .. status.observedGeneration .. ")"
  return hs
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = "Refused: " .. describe(stalled, "the operator refused the spec")
  return hs
end

local healthy = condition("BackupHealthy")
local scheduled = condition("Scheduled")
local spec = obj.spec or {}

if spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "spec.suspend is true: no scheduled backup starts"
  if healthy ~= nil and healthy.status == "False" then
    hs.message = hs.message .. "; " .. describe(healthy, "backups are not healthy")
  end
  return hs
end

if healthy ~= nil and healthy.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(healthy, "the last backup failed")
  return hs
end

if scheduled == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to schedule the backup"
  return hs
end
if scheduled.status ~= "True" then
  if scheduled.reason == "WaitingForDatabases" then
    hs.status = "Progressing"
  else
    hs.status = "Degraded"
  end
  hs.message = describe(scheduled, "not scheduled")
  return hs
end

local running = condition("Reconciling")
local is_running = running ~= nil and running.status == "True"

if spec.schedule == nil then
  -- One-shot: done when its run succeeded.
  if healthy ~= nil and healthy.status == "True" then
    hs.status = "Healthy"
    hs.message = describe(healthy, "the backup succeeded")
  else
    hs.status = "Progressing"
    if is_running then
      hs.message = describe(running, "the backup is running")
    else
      hs.message = describe(healthy, "waiting for the backup to run")
    end
  end
  return hs
end

hs.status = "Healthy"
if healthy ~= nil and healthy.status == "True" then
  hs.message = describe(healthy, "backups succeed")
else
  hs.message = describe(healthy, "no backup yet")
end
if is_running then
  hs.message = hs.message .. "; a backup is running"
end
if status.nextScheduleTime ~= nil then
  hs.message = hs.message .. "; next at " .. status.nextScheduleTime
end
return hs

-- Argo CD health check for neo4j.graphops.io/Neo4jCluster (docs/gitops/README.md).
-- argocd-cm key: resource.customizations.health.neo4j.graphops.io_Neo4jCluster
-- Written for Argo CD's restricted Lua VM (gopher-lua, Lua 5.1): only the base and table
-- libraries, so no string.* calls. Tested by unit.gitops_lua (hack/gitops-check).
--
-- Order: a status the operator has not written for this generation says nothing yet
-- (Progressing); a refusal (Stalled) or a Degraded cluster is Degraded; a paused cluster is
-- Suspended (the operator changes nothing); Ready=True is Healthy, also while an operator
-- upgrade waits to restart the pods (UpdatePending, said in the message); anything else is
-- still converging (Progressing).
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

local function is_true(c)
  return c ~= nil and c.status == "True"
end

-- "Reason: message", from what the condition has.
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
if is_true(stalled) then
  hs.status = "Degraded"
  hs.message = "Stalled: " .. describe(stalled, "the operator refused the spec")
  return hs
end

local degraded = condition("Degraded")
if is_true(degraded) then
  hs.status = "Degraded"
  hs.message = describe(degraded, "Degraded")
  return hs
end

local ready = condition("Ready")
if obj.spec ~= nil and obj.spec.paused == true then
  hs.status = "Suspended"
  local r = "not ready"
  if is_true(ready) then
    r = "ready"
  end
  hs.message = "spec.paused is true: the operator changes nothing (cluster " .. r .. ")"
  return hs
end

-- A Ready condition computed for an older generation is no answer for this one.
local current = ready ~= nil and (ready.observedGeneration == nil or generation == nil or
  ready.observedGeneration >= generation)
if current and is_true(ready) then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  local pending = condition("UpdatePending")
  if is_true(pending) then
    hs.message = hs.message .. "; UpdatePending: " .. describe(pending, "a newer operator would restart the pods")
  end
  return hs
end

hs.status = "Progressing"
local progressing = condition("Progressing")
if is_true(progressing) then
  hs.message = describe(progressing, "Progressing")
else
  hs.message = describe(ready, "Waiting for the cluster to become Ready")
end
if status.phase ~= nil then
  hs.message = status.phase .. ": " .. hs.message
end
return hs

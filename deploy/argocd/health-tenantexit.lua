-- Argo CD health check for tenantexit.io/TenantExit.
--
-- Install it in argocd-cm under the key
--   resource.customizations.health.tenantexit.io_TenantExit
-- (docs/gitops.md shows the whole snippet). Argo CD runs it with gopher-lua
-- (Lua 5.1), which is why it uses nothing newer than 5.1.
--
-- Mapping (docs/architecture.md, "The phases"):
--   no status yet / generation not yet observed   -> Progressing
--   no phase and Stalled=True (the exit was refused) -> Degraded
--   condition Stalled=True (a step needs a human)  -> Degraded
--   ReadOnlyLicensed, BackupRunning, Deleting     -> Progressing
--   AwaitingReceipt (waits for the customer)      -> Suspended
--   Deleted (the audit record of a finished exit) -> Healthy
-- Deleted wins over a leftover Stalled condition: once the tenant is gone there
-- is nothing left to fix, and the record must not keep an app red forever.

local hs = {}

local function condition(status, wanted)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == wanted then
      return c
    end
  end
  return nil
end

local function with_message(text, c)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return text .. ": " .. c.message
  end
  return text
end

local status = obj.status
if status == nil or status.phase == nil or status.phase == "" then
  -- Refused before it got a phase (ProtectedNamespace, NamespaceClaimed, a
  -- terminating namespace): the operator will never pick it up as it stands.
  local refused = condition(status, "Stalled")
  if refused ~= nil and refused.status == "True" then
    hs.status = "Degraded"
    hs.message = with_message("Refused", refused)
    return hs
  end
  local waiting = condition(status, "Ready")
  hs.status = "Progressing"
  hs.message = with_message("Waiting for the operator to pick up this TenantExit", waiting)
  return hs
end

local phase = status.phase
if phase == "Deleted" then
  hs.status = "Healthy"
  hs.message = "Tenant deleted; this TenantExit is the audit record"
  return hs
end

local stalled = condition(status, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = with_message("Stalled in " .. phase, stalled)
  return hs
end

local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= nil
    and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local ready = condition(status, "Ready")
if phase == "AwaitingReceipt" then
  hs.status = "Suspended"
  hs.message = with_message("Backup complete; waiting for the customer's receipt", ready)
elseif phase == "ReadOnlyLicensed" or phase == "BackupRunning" or phase == "Deleting" then
  hs.status = "Progressing"
  hs.message = with_message(phase, ready)
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. tostring(phase)
end
return hs

// Owners: routing rules (data) that map a cluster to the team that owns it, and the cost model.
// Pure: no I/O, no clocks; sending alerts is sinks/' job.
export {
  ownerRuleSchema,
  ownersConfigSchema,
  costSchema,
  DEFAULT_OWNER_RULES,
  OWNER_REASONS,
  routeOwner,
  ruleMatches,
  type OwnerRule,
  type OwnersConfig,
  type CostConfig,
  type RoutableCluster,
  type OwnerRoute,
  type OwnerReason,
} from './rules.js';
export { contactCost, type CostedContact } from './cost.js';

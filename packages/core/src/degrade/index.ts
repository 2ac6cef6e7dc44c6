export * from './degrade-level.js';
export * from './degrade-actions.js';
export * from './degrade-ladder.js';
export * from './drop-policy.js';
export * from './failover-provider.js';
export * from './bind-failover.js';

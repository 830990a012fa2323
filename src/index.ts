/** The Outgrow SDK: what an application imports. Adapters are never exported to applications. */
export { defineService, type ServiceDefinition, type ServiceSubscription, type SeedOptions } from './runtime/service.js'
export { deadLetterTopic, type EventEnvelope, type EventHandler, type Events, type PublishOptions } from './events/bus.js'
export { idempotentInTransaction, idempotentWithClaims, PROCESSED_EVENTS_DDL, type ClaimStore } from './events/idempotent.js'
export { defineConfig, type StackConfigInput } from './config/stack-config.js'
export type {
  AttemptDecision, AttemptLimit, Cache, CacheSetOptions, Db, EnqueueOptions, Invalidation, JobContext, JobHandler, Jobs, JsonValue, Logger, Ports,
  LoadContext, Queryable, QueryResult, RateLimiter, ReadOptions, Session, WritePosition,
  DeferredWrite, VersionedSetOptions, WriteBehind, WriteBehindApplier,
  Outbox, Transaction,
} from './runtime/ports.js'
export type { JobBackoff, JobTypeOptions, RepeatableJob } from './runtime/ports.js'
export type { Notice, Notices } from './notices/notices.js'
export { streamNotices, type EventStreamOptions } from './runtime/event-stream.js'
export { OutgrowError, ERRORS, type ErrorCode } from './errors/index.js'
export type { InvalidationRule, InvalidationRules, RowChange, RowInvalidation } from './data/change-rules.js'
export { bearerTokenMatches } from './config/admin-token.js'
export { firstZodIssue } from './config/validate.js'
export type { StaticStore } from './static-store/store.js'

// @twoway/contracts: subjects, schemas, reason and error codes shared by every project.
// Nothing Node-only: the console imports it too.
import './formats.js';
export { isDateTime } from './formats.js';
export { RequestSubjects, ChangeSubjects, AuditSubjectPrefix, auditSubject, Streams, AuditStoreConsumer, TraceHeader, MqttForwardSubject, MqttRetainedBucket, LiveChangeSubjectPrefix, liveChangeSubject, changeSubjectOfLive } from './subjects.js';
export type { RequestSubject, ChangeSubject } from './subjects.js';
export { ChainReasons, ConnectReasons } from './reason-codes.js';
export type { ChainReason, ConnectReason } from './reason-codes.js';
export { ErrorCodes, errorBody } from './error-codes.js';
export type { ErrorCode, ErrorBody } from './error-codes.js';
export * from './model.js';
export * from './messages.js';
export * from './audit.js';
export * from './dry-run.js';
export { ApiPrefix, ApiTags, ConnectionInfoPath, RouteOwners, ownerOf, DefaultPorts, MqttWssPath } from './http-routes.js';
export type { ServiceName } from './http-routes.js';
export { PASSWORD_ALPHABET, GENERATED_PASSWORD_LENGTH, passwordFromBytes } from './passwords.js';
export { MAX_SPLIT_ENTRIES } from './upload-limits.js';
export { DAY_MS, DEFAULT_EXPIRY_WARNING_DAYS, ExpiryStates, MAX_EXPIRY_WINDOW_DAYS, expiryOf, daysLeft } from './expiry.js';
export type { ExpiryState } from './expiry.js';
export { ReasonDocs, ReasonRules, reasonExplanation, reasonFix, reasonTable } from './reason-docs.js';
export type { ReasonDoc } from './reason-docs.js';
export { TOPIC_RULES_MAX_ITEMS, TOPIC_RULE_FILTER_MAX_CHARS, TopicRuleEffect, TopicRuleAction, TopicRule, TopicRuleList, TopicRules, TopicPlaceholders, parseTopicFilter, sameTopicRules } from './topic-rules.js';
export type { TopicPlaceholder, TopicFilterLevel, TopicFilterParse } from './topic-rules.js';

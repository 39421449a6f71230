// @twoway/lru: the bounded map every cache of the services is built on.
export { LruMap } from './lru-map.js';

/**
 * Every public method of knex's query builder and Raw, by what the handle does with it. The handle
 * records chainable calls and replays them onto the database the stage chooses when the query runs;
 * the execution methods all go to one executor, which captures writes. A method knex has that is in
 * none of these lists is refused (typed error) rather than run past capture; the contract test
 * (test/handle/knex-internals.test.ts) fails when knex's prototypes and these lists disagree.
 */

/** Run the statement: every one of them goes through the handle's executor. */
export const EXECUTION_METHODS = ['then', 'catch', 'finally', 'asCallback', 'stream', 'pipe'] as const;

/** Compile without running: the app's own dialect (MySQL), as its knex compiled it. */
export const COMPILE_METHODS = ['toSQL', 'toString', 'toQuery'] as const;

/** Handled by the handle itself: where the query runs (`transacting`, `connection`), copies, context. */
export const SCOPE_METHODS = ['clone', 'transacting', 'connection', 'queryContext'] as const;

/** Answer from a builder replayed for the side in force; they neither run nor change the query. */
export const INSPECT_METHODS = [
  'isValidStatementArg',
  'getMaxListeners',
  'emit',
  'listeners',
  'rawListeners',
  'listenerCount',
  'eventNames',
] as const;

/** Property getters that change the builder (`qb.or.where(...)`, `qb.not.where(...)`). */
export const CHAIN_GETTERS = ['or', 'not', 'and'] as const;

/** Chainable query-building methods (they return the builder): recorded and replayed. */
export const CHAIN_METHODS = [
  'upsert',
  'timeout',
  'with',
  'withMaterialized',
  'withNotMaterialized',
  'withWrapped',
  'withRecursive',
  'withRecursiveWrapped',
  'columns',
  'comment',
  'as',
  'hintComment',
  'withSchema',
  'table',
  'distinct',
  'distinctOn',
  'join',
  'using',
  'innerJoin',
  'leftJoin',
  'leftOuterJoin',
  'rightJoin',
  'rightOuterJoin',
  'outerJoin',
  'fullOuterJoin',
  'crossJoin',
  'joinRaw',
  'where',
  'whereColumn',
  'orWhere',
  'orWhereColumn',
  'whereNot',
  'whereNotColumn',
  'orWhereNot',
  'orWhereNotColumn',
  'whereRaw',
  'orWhereRaw',
  'whereWrapped',
  'whereExists',
  'orWhereExists',
  'whereNotExists',
  'orWhereNotExists',
  'whereIn',
  'orWhereIn',
  'whereNotIn',
  'orWhereNotIn',
  'whereNull',
  'orWhereNull',
  'whereNotNull',
  'orWhereNotNull',
  'whereBetween',
  'whereNotBetween',
  'orWhereBetween',
  'orWhereNotBetween',
  'whereLike',
  'orWhereLike',
  'whereILike',
  'orWhereILike',
  'groupBy',
  'groupByRaw',
  'orderBy',
  'orderByRaw',
  'union',
  'unionAll',
  'intersect',
  'except',
  'having',
  'orHaving',
  'havingWrapped',
  'havingNull',
  'orHavingNull',
  'havingNotNull',
  'orHavingNotNull',
  'havingExists',
  'orHavingExists',
  'havingNotExists',
  'orHavingNotExists',
  'havingBetween',
  'orHavingBetween',
  'havingNotBetween',
  'orHavingNotBetween',
  'havingIn',
  'orHavingIn',
  'havingNotIn',
  'orHavingNotIn',
  'havingRaw',
  'orHavingRaw',
  'offset',
  'limit',
  'count',
  'min',
  'max',
  'sum',
  'avg',
  'countDistinct',
  'sumDistinct',
  'avgDistinct',
  'increment',
  'decrement',
  'clearCounters',
  'first',
  'pluck',
  'clearSelect',
  'clearWhere',
  'clearGroup',
  'clearOrder',
  'clearHaving',
  'clear',
  'insert',
  'update',
  'returning',
  'onConflict',
  'delete',
  'truncate',
  'columnInfo',
  'forUpdate',
  'forShare',
  'forNoKeyUpdate',
  'forKeyShare',
  'skipLocked',
  'noWait',
  'fromJS',
  'fromRaw',
  'modify',
  'jsonExtract',
  'jsonSet',
  'jsonInsert',
  'jsonRemove',
  'whereJsonObject',
  'orWhereJsonObject',
  'whereNotJsonObject',
  'orWhereNotJsonObject',
  'whereJsonPath',
  'orWhereJsonPath',
  'whereJsonSupersetOf',
  'whereJsonNotSupersetOf',
  'orWhereJsonSupersetOf',
  'orWhereJsonNotSupersetOf',
  'whereJsonSubsetOf',
  'whereJsonNotSubsetOf',
  'orWhereJsonSubsetOf',
  'orWhereJsonNotSubsetOf',
  'whereJsonHasNone',
  'rank',
  'denseRank',
  'rowNumber',
  'select',
  'column',
  'andWhereNot',
  'andWhereNotColumn',
  'andWhere',
  'andWhereColumn',
  'andWhereRaw',
  'andWhereBetween',
  'andWhereNotBetween',
  'andWhereJsonObject',
  'andWhereNotJsonObject',
  'andWhereJsonPath',
  'andWhereLike',
  'andWhereILike',
  'andHaving',
  'andHavingIn',
  'andHavingNotIn',
  'andHavingNull',
  'andHavingNotNull',
  'andHavingExists',
  'andHavingNotExists',
  'andHavingBetween',
  'andHavingNotBetween',
  'from',
  'into',
  'del',
  'options',
  'debug',
  // The upsert forms of onConflict() (methods of the object it returns, recorded on the query).
  'merge',
  'ignore',
  // EventEmitter methods that return the builder: listeners are attached to the replayed builder.
  'setMaxListeners',
  'addListener',
  'on',
  'prependListener',
  'once',
  'prependOnceListener',
  'removeListener',
  'off',
  'removeAllListeners',
] as const;

/** Chainable methods of knex's Raw (the rest of Raw's surface is in the lists above). */
export const RAW_CHAIN_METHODS = [
  'timeout',
  'wrap',
  'options',
  'debug',
  'setMaxListeners',
  'addListener',
  'on',
  'prependListener',
  'once',
  'prependOnceListener',
  'removeListener',
  'off',
  'removeAllListeners',
] as const;

/** Raw's own methods knex uses internally (`set` fills the Raw when knex builds it). */
export const RAW_INTERNAL_METHODS = ['set'] as const;

export type MethodRole = 'execute' | 'compile' | 'scope' | 'inspect' | 'chain';

const ROLES = new Map<string, MethodRole>([
  ...CHAIN_METHODS.map((m) => [m, 'chain'] as const),
  ...EXECUTION_METHODS.map((m) => [m, 'execute'] as const),
  ...COMPILE_METHODS.map((m) => [m, 'compile'] as const),
  ...SCOPE_METHODS.map((m) => [m, 'scope'] as const),
  ...INSPECT_METHODS.map((m) => [m, 'inspect'] as const),
]);

/** What the handle's builder does with a method name (undefined: not a knex builder method it knows). */
export function builderRole(name: string): MethodRole | undefined {
  return ROLES.get(name);
}

const RAW_ROLES = new Map<string, MethodRole>([
  ...RAW_CHAIN_METHODS.map((m) => [m, 'chain'] as const),
  ...EXECUTION_METHODS.map((m) => [m, 'execute'] as const),
  ...COMPILE_METHODS.map((m) => [m, 'compile'] as const),
  ...(['transacting', 'connection', 'queryContext'] as const).map((m) => [m, 'scope'] as const),
  ...INSPECT_METHODS.filter((m) => m !== 'isValidStatementArg').map((m) => [m, 'inspect'] as const),
]);

export function rawRole(name: string): MethodRole | undefined {
  return RAW_ROLES.get(name);
}

/** On MySQL the app's builder calls mean what they always meant: replayed as recorded. */
export function mysqlSemanticsCall(_method: string, args: readonly unknown[]): unknown[] {
  return [...args];
}

import { inject } from 'vitest';

/** The flavour of the MySQL-side server the running test file talks to. */
export function testFlavour(): 'mysql' | 'mariadb' {
  return inject('flavour');
}

/** Chooses the expectation of the flavour under test. */
export function byFlavour<T>(choices: { mysql: T; mariadb: T }): T {
  return choices[testFlavour()];
}

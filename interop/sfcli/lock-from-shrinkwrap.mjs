// Writes package.json and package-lock.json here so that `npm ci` installs the
// Salesforce CLI with exactly the dependency versions of its own npm-shrinkwrap.json.
// npm does not honour a dependency's shrinkwrap on install (it resolved 440 of the
// CLI's 977 runtime packages to other versions when we tried), so the lock is built
// from the shrinkwrap itself: its runtime entries, unchanged but for the registry
// address (left out, as in interop/jsforce, so npm uses the configured registry),
// plus the CLI package.
//
// The shrinkwrap holds peer dependencies its authors installed past their declared
// ranges (marked-terminal wants marked ^1 || ^2 and gets 4.3.0), so .npmrc here sets
// legacy-peer-deps, as the CLI's own build does, or npm ci refuses the lock.
//
// Usage: node lock-from-shrinkwrap.mjs 2.138.0   (then: npm ci --ignore-scripts)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const version = process.argv[2];
if (!/^\d+\.\d+\.\d+$/.test(version ?? '')) {
  console.error('usage: node lock-from-shrinkwrap.mjs <@salesforce/cli version, e.g. 2.138.0>');
  process.exit(2);
}
const name = 'syncd-interop-sfcli';
const engines = { node: '>=20' };

const work = mkdtempSync(join(tmpdir(), 'sfcli-lock-'));
try {
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', `@salesforce/cli@${version}`, '--json', '--pack-destination', work], { encoding: 'utf8' }),
  );
  execFileSync('tar', ['-xzf', join(work, packed.filename), '-C', work, 'package/npm-shrinkwrap.json', 'package/package.json']);
  const cli = JSON.parse(readFileSync(join(work, 'package', 'package.json'), 'utf8'));
  const shrinkwrap = JSON.parse(readFileSync(join(work, 'package', 'npm-shrinkwrap.json'), 'utf8'));
  if (shrinkwrap.lockfileVersion !== 3) {
    throw new Error(`the shrinkwrap has lockfileVersion ${shrinkwrap.lockfileVersion}; this script reads version 3`);
  }

  const packages = {
    '': { name, dependencies: { '@salesforce/cli': version }, engines },
    'node_modules/@salesforce/cli': {
      version,
      integrity: packed.integrity,
      hasInstallScript: shrinkwrap.packages[''].hasInstallScript,
      license: cli.license,
      dependencies: cli.dependencies,
      bin: cli.bin,
      engines: cli.engines,
    },
  };
  for (const [path, entry] of Object.entries(shrinkwrap.packages)) {
    if (path === '' || entry.dev || entry.extraneous) {
      continue; // extraneous: npm's own dependencies, which it bundles
    }
    const { resolved, devOptional, ...kept } = entry;
    if (devOptional) {
      kept.optional = true; // optional for the runtime, needed only by the CLI's own development
    }
    packages[path] = kept;
  }
  writeFileSync(
    'package.json',
    JSON.stringify(
      {
        name,
        private: true,
        description: 'Drives sfsim with the Salesforce CLI (sf), pinned with its own npm-shrinkwrap.json.',
        engines,
        dependencies: { '@salesforce/cli': version },
      },
      null,
      2,
    ) + '\n',
  );
  writeFileSync('package-lock.json', JSON.stringify({ name, lockfileVersion: 3, requires: true, packages }, null, 2) + '\n');
  console.log(`wrote package.json and package-lock.json for @salesforce/cli ${version}: ${Object.keys(packages).length - 1} packages`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

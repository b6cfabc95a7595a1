/** Component and package-type rules of APT uploads (ingest/apt-component.ts), and the udeb index check of renders. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinKey } from '../../src/bucket/keys.ts';
import type { ChunkRef } from '../../src/bucket/revision.ts';
import type { AptDistribution } from '../../src/config/distributions.ts';
import { RepodError } from '../../src/errors.ts';
import { parseDebControl } from '../../src/formats/deb/control.ts';
import { baseComponent, checkPackageType, indexComponent, resolveComponent } from '../../src/ingest/apt-component.ts';
import { mayHoldUdebs } from '../../src/render/apt-view.ts';

const dist: AptDistribution = { kind: 'apt', name: 'trixie', components: ['main', 'contrib', 'non-free'], architectures: ['amd64'] };
const control = (extra: string) => parseDebControl(`Package: p\nVersion: 1\nArchitecture: amd64\n${extra}Description: d\n`);
const refused = (code: string) => (e: unknown) => e instanceof RepodError && e.code === code && e.status === 422;

describe('APT components and package types', () => {
  it('takes the named component, else the Section prefix, else the first', () => {
    assert.equal(resolveComponent(dist, 'non-free', control('Section: contrib/net\n')), 'non-free');
    assert.equal(resolveComponent(dist, undefined, control('Section: contrib/net\n')), 'contrib');
    assert.equal(resolveComponent(dist, undefined, control('Section:  non-free/libs \n')), 'non-free');
    assert.equal(resolveComponent(dist, undefined, control('Section: net\n')), 'main');
    assert.equal(resolveComponent(dist, undefined, control('')), 'main');
  });

  it('refuses a component the distribution lacks, named or from the Section, listing those it has', () => {
    assert.throws(() => resolveComponent(dist, 'universe', control('')), refused('unknown_component'));
    assert.throws(() => resolveComponent(dist, undefined, control('Section: non-free-firmware/kernel\n')), /no component non-free-firmware .*main, contrib, non-free/);
  });

  it('gives udebs the debian-installer index component, and back', () => {
    const udeb = control('Package-Type: udeb\n');
    assert.equal(indexComponent('main', udeb), 'main/debian-installer');
    assert.equal(indexComponent('main', control('')), 'main');
    assert.equal(baseComponent('contrib/debian-installer'), 'contrib');
    assert.equal(baseComponent('contrib'), 'contrib');
  });

  it('refuses a file name that contradicts Package-Type', () => {
    const udeb = control('Package-Type: udeb\n');
    assert.throws(() => checkPackageType('p_1_amd64.deb', udeb), refused('package_type_mismatch'));
    assert.throws(() => checkPackageType('p_1_amd64.udeb', control('')), refused('package_type_mismatch'));
    checkPackageType('p_1_amd64.udeb', udeb);
    checkPackageType('p_1_amd64.deb', control(''));
    checkPackageType('p_1_amd64.deb', control('Package-Type: ddeb\n'));
    checkPackageType(undefined, udeb);
    checkPackageType('upload.bin', udeb);
  });

  it('sees from chunk key ranges whether a revision may hold udebs', () => {
    const chunk = (first: string[], last: string[]): ChunkRef => ({ id: 'x', first: joinKey(...first), last: joinKey(...last), count: 2, arches: {}, bytes: 1 });
    assert.equal(mayHoldUdebs([chunk(['main', 'a', 'amd64', '1'], ['main', 'z', 'amd64', '1'])], 'main/debian-installer'), false);
    assert.equal(mayHoldUdebs([chunk(['main', 'a', 'amd64', '1'], ['main/debian-installer', 'd', 'amd64', '1'])], 'main/debian-installer'), true);
    assert.equal(mayHoldUdebs([chunk(['main/debian-installer', 'd', 'amd64', '1'], ['main/debian-installer', 'e', 'amd64', '1'])], 'main/debian-installer'), true);
    assert.equal(mayHoldUdebs([chunk(['non-free', 'a', 'amd64', '1'], ['non-free', 'b', 'amd64', '1'])], 'main/debian-installer'), false);
    assert.equal(mayHoldUdebs([], 'main/debian-installer'), false);
  });
});

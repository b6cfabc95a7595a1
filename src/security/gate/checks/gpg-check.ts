import type { PackageCheck } from '../check.ts';

/** What the signature step found (ingest/signature-policy.ts refuses what its policy refuses, before the gate). */
export const gpgCheck: PackageCheck = {
  name: 'gpg',
  run(c) {
    if (c.kind === 'dsc') {
      // dpkg-source checks a .dsc's OpenPGP signature on the client, with the keys its user trusts; the pool keeps it as uploaded.
      const signed = c.source ? c.source.dsc.signed : c.stored?.record.kind === 'dsc' && c.stored.record.signed;
      return signed
        ? { passed: true, action: 'allow', message: 'the .dsc is clear-signed; dpkg-source verifies it with the keys its user trusts', detail: { status: 'signed_unverified' } }
        : { passed: true, action: 'allow', message: 'the .dsc is not signed; the repository metadata is', detail: { status: 'unsigned_pass' } };
    }
    if (c.kind === 'deb') {
      return { passed: true, action: 'allow', message: 'a .deb carries no signature apt checks; the repository metadata is signed', detail: { status: 'unsigned_pass' } };
    }
    const summary = c.signature?.summary;
    if (!summary) return { passed: true, action: 'allow', message: 'checked when it was uploaded', detail: { status: 'not_checked' } };
    if (summary.status === 'signed' && summary.trusted) {
      return { passed: true, action: 'allow', message: `signed by ${summary.signers.join(', ')}`, detail: { status: 'signed', signers: summary.signers } };
    }
    if (summary.status === 'signed') {
      return {
        passed: true,
        action: 'allow',
        message: `signed by ${summary.signers.join(', ')}, not a trusted key`,
        detail: { status: 'untrusted_pass', signers: summary.signers },
      };
    }
    return { passed: true, action: 'allow', message: `${summary.status}; the distribution's signature policy lets it in`, detail: { status: 'unsigned_pass' } };
  },
};

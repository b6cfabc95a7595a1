import * as openpgp from 'openpgp';
import { RepodError } from '../../errors.ts';

/**
 * Checks a detached OpenPGP signature (repomd.xml.asc, armored as createrepo users write it with
 * `gpg --detach-sign --armor`, or binary) over `data` with the source's key(s). Every failure,
 * from an unreadable signature to a key that did not make it, is one 422 error naming the
 * file: the sync must stop before anything from the upstream is believed.
 */
export async function verifyDetachedSignature(data: Uint8Array, signatureBytes: Uint8Array, armoredKeys: string, what: string): Promise<void> {
  let keys: openpgp.Key[];
  try {
    keys = await openpgp.readKeys({ armoredKeys });
  } catch (error) {
    throw failure(`the source's key cannot be read (${reason(error)})`, what, error);
  }
  let signature: openpgp.Signature;
  try {
    const text = new TextDecoder().decode(signatureBytes.subarray(0, 64));
    signature = text.trimStart().startsWith('-----BEGIN PGP SIGNATURE-----')
      ? await openpgp.readSignature({ armoredSignature: new TextDecoder().decode(signatureBytes) })
      : await openpgp.readSignature({ binarySignature: signatureBytes });
  } catch (error) {
    throw failure(`its signature cannot be read (${reason(error)})`, what, error);
  }
  try {
    const message = await openpgp.createMessage({ binary: data });
    // expectSigned: verify() throws unless a signature verifies with one of the keys.
    const result = await openpgp.verify({ message, signature, verificationKeys: keys, expectSigned: true, format: 'binary' });
    await Promise.all(result.signatures.map((s) => s.verified.catch(() => false)));
  } catch (error) {
    throw failure(`its signature does not verify with the source's key (${reason(error)})`, what, error);
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function failure(problem: string, what: string, cause: unknown): RepodError {
  return new RepodError('upstream_signature', `${what}: ${problem}`, { status: 422, cause });
}

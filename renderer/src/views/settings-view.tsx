import { Save } from 'lucide-react';
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import type { OperationArgs } from '../../../shared/contract.js';
import type { Settings } from '../../../shared/types.js';
import { ViewHeader } from '../components/view-header.js';
import { parsePeerAddress } from '../lib/address.js';
import { useApp } from '../store/index.js';

interface Draft {
  sharedDir: string;
  downloadDir: string;
  port: string;
  bootstrap: string;
  neighbourCap: string;
  uploadSlots: string;
  maxUploadKb: string;
  maxDownloadKb: string;
}

const toDraft = (s: Settings): Draft => ({
  sharedDir: s.sharedDir,
  downloadDir: s.downloadDir,
  port: String(s.port),
  bootstrap: s.bootstrap.join('\n'),
  neighbourCap: String(s.neighbourCap),
  uploadSlots: String(s.uploadSlots),
  maxUploadKb: String(Math.round(s.maxUploadRate / 1024)),
  maxDownloadKb: String(Math.round(s.maxDownloadRate / 1024)),
});

function int(text: string, what: string, min: number, max: number): number {
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) throw new Error(`${what} must be a whole number from ${min} to ${max}.`);
  return n;
}

/** Check the form and turn it into a settings patch, or throw a sentence saying what to fix. */
function draftToPatch(d: Draft): OperationArgs<'settings:set'> {
  if (d.sharedDir.trim() === '') throw new Error('Choose a shared folder.');
  if (d.downloadDir.trim() === '') throw new Error('Choose a download folder.');
  const bootstrap = d.bootstrap
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter(Boolean);
  for (const b of bootstrap) {
    const p = parsePeerAddress(b);
    if (!p.ok) throw new Error(p.error);
  }
  return {
    sharedDir: d.sharedDir.trim(),
    downloadDir: d.downloadDir.trim(),
    port: int(d.port, 'The port', 0, 65535),
    bootstrap,
    neighbourCap: int(d.neighbourCap, 'The neighbour limit', 1, 64),
    uploadSlots: int(d.uploadSlots, 'Upload slots', 1, 256),
    maxUploadRate: int(d.maxUploadKb, 'The upload limit', 0, 10_000_000) * 1024,
    maxDownloadRate: int(d.maxDownloadKb, 'The download limit', 0, 10_000_000) * 1024,
  };
}

function Field({ label, hint, children }: { label: string; hint?: string; children: ReactNode }) {
  return (
    <label className="settings__field">
      <span className="field__label">{label}</span>
      {children}
      {hint && <span className="settings__hint">{hint}</span>}
    </label>
  );
}

/** A whole-number field between `min` and `max` (`max` absent: no upper bound in the input). */
function NumberField(p: {
  label: string;
  hint?: string;
  value: string;
  min: number;
  max?: number;
  onChange: (e: { target: { value: string } }) => void;
}) {
  return (
    <Field label={p.label} hint={p.hint}>
      <input type="number" min={p.min} max={p.max} value={p.value} onChange={p.onChange} />
    </Field>
  );
}

/** Folders, port, bootstrap peers and limits; saved in the peer's settings file. */
export function SettingsView() {
  const settings = useApp((s) => s.settings);
  const save = useApp((s) => s.saveSettings);
  const saving = useApp((s) => s.savingSettings);
  const [draft, setDraft] = useState<Draft | null>(settings ? toDraft(settings) : null);
  const [message, setMessage] = useState<{ kind: 'error' | 'ok'; text: string } | null>(null);

  useEffect(() => {
    if (settings && draft === null) setDraft(toDraft(settings));
  }, [settings, draft]);

  if (!draft) return <ViewHeader title="Settings" subtitle="Loading…" />;

  const edit = (k: keyof Draft) => (e: { target: { value: string } }) => setDraft({ ...draft, [k]: e.target.value });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let patch: OperationArgs<'settings:set'>;
    try {
      patch = draftToPatch(draft);
    } catch (err) {
      setMessage({ kind: 'error', text: (err as Error).message });
      return;
    }
    const err = await save(patch);
    setMessage(err ? { kind: 'error', text: err } : { kind: 'ok', text: 'Saved. MacTella keeps these settings for next time.' });
  };

  return (
    <>
      <ViewHeader title="Settings" subtitle="Kept between runs. Limits apply at once." />
      <div className="scroll-pane">
        <form className="settings card" onSubmit={submit}>
          <fieldset>
            <legend>Folders</legend>
            <Field label="Shared folder" hint="Everything in it (and its subfolders) is shared.">
              <input type="text" value={draft.sharedDir} onChange={edit('sharedDir')} spellCheck={false} />
            </Field>
            <Field label="Download folder">
              <input type="text" value={draft.downloadDir} onChange={edit('downloadDir')} spellCheck={false} />
            </Field>
          </fieldset>
          <fieldset>
            <legend>Network</legend>
            <NumberField label="Port" hint="0 picks any free port." min={0} max={65535} value={draft.port} onChange={edit('port')} />
            <Field label="Bootstrap peers" hint="One host:port per line. Reset returns the peer list to these.">
              <textarea rows={3} value={draft.bootstrap} onChange={edit('bootstrap')} spellCheck={false} />
            </Field>
            <NumberField label="Neighbour limit" min={1} max={64} value={draft.neighbourCap} onChange={edit('neighbourCap')} />
          </fieldset>
          <fieldset>
            <legend>Transfers</legend>
            <NumberField
              label="Upload slots"
              hint="Uploads beyond this wait in a queue."
              min={1}
              max={256}
              value={draft.uploadSlots}
              onChange={edit('uploadSlots')}
            />
            {(
              [
                ['Upload', 'maxUploadKb'],
                ['Download', 'maxDownloadKb'],
              ] as const
            ).map(([dir, key]) => (
              <NumberField
                key={key}
                label={`${dir} limit (KB/s)`}
                hint="0 means no limit."
                min={0}
                value={draft[key]}
                onChange={edit(key)}
              />
            ))}
          </fieldset>
          <div className="settings__footer">
            {message && (
              <p
                className={message.kind === 'error' ? 'field__error' : 'settings__ok'}
                role={message.kind === 'error' ? 'alert' : 'status'}
              >
                {message.text}
              </p>
            )}
            <button type="submit" className="button button--primary" disabled={saving}>
              <Save size={16} aria-hidden="true" />
              {saving ? 'Saving…' : 'Save settings'}
            </button>
          </div>
        </form>
      </div>
    </>
  );
}

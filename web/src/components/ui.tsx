// Small building blocks shared by the pages.
import { useState, type ReactNode } from 'react';
import type { ApiError } from '../api/client';

export function ErrorBox({ error }: { error: ApiError | Error | null }) {
  if (!error) return null;
  const title = 'title' in error ? (error as ApiError).title : 'Error';
  const status = 'status' in error ? (error as ApiError).status : 0;
  const problems = problemList(error);
  return (
    <div className="error" role="alert">
      <strong>
        {title}
        {status ? ` (${status})` : ''}
      </strong>
      <span>: {error.message}</span>
      {problems.length > 0 && (
        <ul>
          {problems.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

// The itemised problems some answers carry (e.g. rows that do not fit a column type).
function problemList(error: Error): string[] {
  const body = (error as ApiError).body as { problems?: unknown[] } | null | undefined;
  if (!body || !Array.isArray(body.problems)) return [];
  return body.problems.slice(0, 10).map((p) => (typeof p === 'string' ? p : JSON.stringify(p)));
}

export function ProgressBar({ value, label }: { value: number; label: string }) {
  const pct = Math.max(0, Math.min(100, Math.round(value * 100)));
  return (
    <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label={label}>
      <div className="progress-fill" style={{ width: `${pct}%` }} />
      <span className="progress-text">{pct}%</span>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Section({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="card">
      <div className="card-head">
        <h2>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge badge-${state}`}>{state}</span>;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatNumber(v: unknown, digits = 4): string {
  if (typeof v !== 'number') return v === null || v === undefined ? '—' : String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en');
  return Math.abs(v) >= 1000 ? v.toFixed(1) : String(Number(v.toPrecision(digits)));
}

export function formatTime(us: number | null | undefined): string {
  if (!us) return '—';
  return new Date(us / 1000).toLocaleString();
}

// A button that asks once more before it acts (for deletions).
export function ConfirmButton({ label, confirm, onConfirm }: { label: string; confirm: string; onConfirm: () => void }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="danger" onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={confirm}>
      <span>{confirm}</span>
      <button type="button" className="danger" onClick={onConfirm}>
        Yes, {label.toLowerCase()}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Keep it
      </button>
    </span>
  );
}

export type Option = string | { value: string; label: string };

// A labelled select.
export function SelectField({ id, label, value, options, onChange }: { id: string; label: string; value: string; options: Option[]; onChange: (v: string) => void }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => {
          const { value: v, label: l } = typeof o === 'string' ? { value: o, label: o } : o;
          return (
            <option key={v} value={v}>
              {l}
            </option>
          );
        })}
      </select>
    </div>
  );
}

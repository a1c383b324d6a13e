// Admin: accounts (roles, disabling), the audit log, and the system's state from /health and
// /metrics (queue depth, job rates, request latency), refreshed every few seconds.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, send } from '../api/client';
import { useAction, useApi } from '../api/hooks';
import type { Page } from '../api/types';
import { byLabel, parsePrometheus, total, type Sample } from '../api/prometheus';
import { useSession } from '../auth/session';
import { Listing } from '../components/Table';
import { ErrorBox, Loading, Section, formatBytes, formatTime } from '../components/ui';

interface Account {
  id: string;
  email: string;
  role: string;
  disabled: boolean;
  created_at_us: number;
}

interface AuditEntry {
  id: string;
  action: string;
  actor_id: string | null;
  target: string | null;
  ip: string;
  at_us: number;
  detail: Record<string, unknown>;
}

const TABS = ['Users', 'Audit log', 'System'] as const;

export function AdminPage() {
  const [tab, setTab] = useState<(typeof TABS)[number]>('Users');
  return (
    <>
      <h1>Admin</h1>
      <div className="tabs" role="tablist" aria-label="Admin sections">
        {TABS.map((t) => (
          <button type="button" role="tab" key={t} aria-selected={tab === t} onClick={() => setTab(t)}>
            {t}
          </button>
        ))}
      </div>
      {tab === 'Users' && <Users />}
      {tab === 'Audit log' && <Audit />}
      {tab === 'System' && <SystemStatus />}
    </>
  );
}

function Users() {
  const { user } = useSession();
  const users = useApi<Page<Account>>('admin/users');
  const { error, run } = useAction();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('member');

  const change = (id: string, patch: Partial<Account>) =>
    run(async () => {
      await send('PATCH', `admin/users/${id}`, patch);
      users.reload();
    });
  const create = (e: FormEvent) => {
    e.preventDefault();
    return run(async () => {
      await send('POST', 'admin/users', { email, password, role });
      setEmail('');
      setPassword('');
      users.reload();
    });
  };

  return (
    <>
      <Section title="New account">
        <form className="row-form" onSubmit={create} aria-label="Create an account">
          <div className="field">
            <label htmlFor="new-email">Email</label>
            <input id="new-email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="new-password">Password</label>
            <input id="new-password" type="password" autoComplete="new-password" required minLength={10} value={password} onChange={(e) => setPassword(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="new-role">Role</label>
            <select id="new-role" value={role} onChange={(e) => setRole(e.target.value)}>
              <option>member</option>
              <option>viewer</option>
              <option>admin</option>
            </select>
          </div>
          <button type="submit" className="primary">
            Create
          </button>
        </form>
      </Section>
      <Section title="Accounts">
        <ErrorBox error={error} />
        <Listing
          state={users}
          what="accounts"
          empty="No accounts."
          rowKey={(u) => u.id}
          columns={[
            { header: 'Email', cell: (u) => (u.id === user?.id ? `${u.email} (you)` : u.email) },
            {
              header: 'Role',
              cell: (u) => (
                <select aria-label={`Role of ${u.email}`} value={u.role} onChange={(e) => void change(u.id, { role: e.target.value })}>
                  <option>admin</option>
                  <option>member</option>
                  <option>viewer</option>
                </select>
              ),
            },
            {
              header: 'State',
              cell: (u) => (
                <label className="inline">
                  <input type="checkbox" checked={u.disabled} onChange={(e) => void change(u.id, { disabled: e.target.checked })} /> disabled
                </label>
              ),
            },
            { header: 'Created', cell: (u) => formatTime(u.created_at_us) },
          ]}
        />
      </Section>
    </>
  );
}

function Audit() {
  const [action, setAction] = useState('');
  const [cursor, setCursor] = useState<string[]>([]);
  const current = cursor[cursor.length - 1] ?? '';
  const page = useApi<Page<AuditEntry>>(`admin/audit?limit=50${action ? `&action=${encodeURIComponent(action)}` : ''}${current ? `&cursor=${encodeURIComponent(current)}` : ''}`);
  return (
    <Section
      title="Audit log"
      actions={
        <span className="inline-fields">
          <label className="inline">
            Action{' '}
            <input
              value={action}
              placeholder="e.g. login_failed"
              onChange={(e) => {
                setAction(e.target.value.trim());
                setCursor([]);
              }}
            />
          </label>
          <button type="button" disabled={cursor.length === 0} onClick={() => setCursor(cursor.slice(0, -1))}>
            Newer
          </button>
          <button type="button" disabled={!page.data?.next_cursor} onClick={() => setCursor([...cursor, page.data!.next_cursor!])}>
            Older
          </button>
        </span>
      }
    >
      <Listing
        state={page}
        what="the audit log"
        empty="Nothing recorded."
        rowKey={(a) => a.id}
        columns={[
          { header: 'When', cell: (a) => formatTime(a.at_us) },
          { header: 'Action', cell: (a) => a.action },
          { header: 'Actor', className: 'id', cell: (a) => a.actor_id ?? '—' },
          { header: 'Target', className: 'id', cell: (a) => a.target ?? '—' },
          { header: 'Address', cell: (a) => a.ip },
          { header: 'Detail', cell: (a) => (Object.keys(a.detail ?? {}).length ? JSON.stringify(a.detail) : '') },
        ]}
      />
    </Section>
  );
}

interface Health {
  status: string;
  version: string;
  database: string;
  redis: string;
  uptime: number;
}

interface Reading {
  at: number;
  samples: Sample[];
}

// What the system page shows, from two readings of /metrics a few seconds apart.
export function systemFigures(now: Reading, before: Reading | null) {
  const s = now.samples;
  const jobs = byLabel(s, 'jobs_total', 'state');
  const requests = total(s, 'http_requests_total');
  const latencySum = total(s, 'http_request_duration_seconds_sum');
  const latencyCount = total(s, 'http_request_duration_seconds_count');
  const figures = {
    queueDepth: total(s, 'queue_depth'),
    workersBusy: total(s, 'workers_busy'),
    memory: total(s, 'process_resident_memory_bytes'),
    requests,
    meanLatencyMs: latencyCount > 0 ? (1000 * latencySum) / latencyCount : 0,
    jobs,
    requestRate: null as number | null,
    jobRate: null as number | null,
    recentLatencyMs: null as number | null,
  };
  if (before && now.at > before.at) {
    const dt = (now.at - before.at) / 1000;
    const b = before.samples;
    figures.requestRate = (requests - total(b, 'http_requests_total')) / dt;
    const finished = (x: Sample[]) => ['succeeded', 'failed', 'cancelled'].reduce((acc, st) => acc + total(x, 'jobs_total', { state: st }), 0);
    figures.jobRate = ((finished(s) - finished(b)) / dt) * 60;
    const dc = latencyCount - total(b, 'http_request_duration_seconds_count');
    figures.recentLatencyMs = dc > 0 ? (1000 * (latencySum - total(b, 'http_request_duration_seconds_sum'))) / dc : null;
  }
  return figures;
}

function SystemStatus() {
  const [health, setHealth] = useState<Health | null>(null);
  const [reading, setReading] = useState<Reading | null>(null);
  const before = useRef<Reading | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    let live = true;
    async function poll() {
      try {
        const [h, m] = await Promise.all([fetch('/health'), fetch('/metrics')]);
        if (!h.ok && h.status !== 503) throw new ApiError(h.status, 'Health check failed', h.statusText);
        const next = { at: Date.now(), samples: parsePrometheus(await m.text()) };
        if (!live) return;
        setHealth((await h.json()) as Health);
        setReading((prev) => {
          before.current = prev;
          return next;
        });
        setError(null);
      } catch (e) {
        if (live) setError(e instanceof ApiError ? e : new ApiError(0, 'Network error', String(e)));
      }
    }
    void poll();
    const t = setInterval(() => void poll(), 5000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, []);

  const f = reading ? systemFigures(reading, before.current) : null;
  return (
    <Section title="System">
      <ErrorBox error={error} />
      {!health || !f ? (
        <Loading what="the system's state" />
      ) : (
        <dl className="metrics big">
          <div>
            <dt>status</dt>
            <dd className={`status-${health.status}`}>{health.status}</dd>
          </div>
          <div>
            <dt>database</dt>
            <dd>{health.database}</dd>
          </div>
          <div>
            <dt>redis</dt>
            <dd>{health.redis}</dd>
          </div>
          <div>
            <dt>version · uptime</dt>
            <dd>
              {health.version} · {Math.floor(health.uptime / 60)} min
            </dd>
          </div>
          <div>
            <dt>queue depth</dt>
            <dd data-testid="queue-depth">{f.queueDepth}</dd>
          </div>
          <div>
            <dt>workers busy</dt>
            <dd>{f.workersBusy}</dd>
          </div>
          <div>
            <dt>jobs finished / min</dt>
            <dd>{f.jobRate === null ? 'measuring…' : f.jobRate.toFixed(1)}</dd>
          </div>
          <div>
            <dt>jobs that entered each state (since start)</dt>
            <dd>
              {Object.entries(f.jobs)
                .map(([k, v]) => `${k} ${v}`)
                .join(' · ') || 'none'}
            </dd>
          </div>
          <div>
            <dt>requests / s</dt>
            <dd>{f.requestRate === null ? 'measuring…' : f.requestRate.toFixed(2)}</dd>
          </div>
          <div>
            <dt>request latency (mean since start · last 5 s)</dt>
            <dd>
              {f.meanLatencyMs.toFixed(2)} ms · {f.recentLatencyMs === null ? '—' : `${f.recentLatencyMs.toFixed(2)} ms`}
            </dd>
          </div>
          <div>
            <dt>memory (resident)</dt>
            <dd>{formatBytes(f.memory)}</dd>
          </div>
        </dl>
      )}
    </Section>
  );
}

// One dataset: its columns (types editable), the profile drawn, and a paged preview of rows.
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { send } from '../api/client';
import { useAction, useApi } from '../api/hooks';
import type { ColumnProfile, Dataset, Page, Profile, RowsPage } from '../api/types';
import { useSession } from '../auth/session';
import { BarList, Heatmap, Histogram } from '../components/charts';
import { Listing } from '../components/Table';
import { ConfirmButton, ErrorBox, Loading, Section, formatBytes, formatNumber } from '../components/ui';

const TYPES = ['integer', 'number', 'boolean', 'date', 'datetime', 'category', 'text'];
const PAGE = 20;

export function DatasetPage() {
  const { id = '' } = useParams();
  const { user } = useSession();
  const dataset = useApi<Dataset>(`datasets/${id}`);
  const profile = useApi<Profile>(`datasets/${id}/profile`);
  const d = dataset.data;
  const canEdit = user?.role === 'admin' || (user?.role === 'member' && d?.owner_id === user.id);
  const navigate = useNavigate();
  const { error: removeError, run: runRemove } = useAction();

  const remove = () =>
    runRemove(async () => {
      await send('DELETE', `datasets/${id}`);
      navigate('/datasets');
    });

  if (dataset.error) return <ErrorBox error={dataset.error} />;
  if (!d) return <Loading what="the dataset" />;
  return (
    <>
      <h1>{d.name}</h1>
      <p className="muted">
        {d.rows.toLocaleString('en')} rows · {d.column_count} columns · {formatBytes(d.size_bytes)}
        {d.source ? ` · from ${d.source.file_name || d.source.format} (${formatBytes(d.source.bytes)})` : ''}
        {' · '}
        {canEdit && <Link to={`/train?dataset=${d.id}`}>Train a model on it</Link>}
        {' · '}
        <Link to={`/models?dataset=${d.id}`}>Leaderboard</Link>
      </p>
      {canEdit && (
        <div className="actions">
          <ConfirmButton label="Delete" confirm={`Delete ${d.name} with its files and shares?`} onConfirm={() => void remove()} />
        </div>
      )}
      <ErrorBox error={removeError} />
      <ColumnTypes
        dataset={d}
        canEdit={canEdit}
        onSaved={(next) => {
          dataset.setData(next);
          profile.reload();
        }}
      />
      <Section title="Profile">
        <ErrorBox error={profile.error} />
        {!profile.data ? <Loading what="the profile" /> : <ProfileView profile={profile.data} />}
      </Section>
      <RowsPreview key={JSON.stringify(d.columns)} id={d.id} />
      {canEdit && <Shares id={d.id} />}
    </>
  );
}

function ColumnTypes({ dataset, canEdit, onSaved }: { dataset: Dataset; canEdit: boolean; onSaved: (d: Dataset) => void }) {
  const [types, setTypes] = useState<Record<string, string>>({});
  const { error, run } = useAction();
  const [saved, setSaved] = useState('');
  useEffect(() => setTypes(Object.fromEntries(dataset.columns.map((c) => [c.name, c.type]))), [dataset]);
  const changed = dataset.columns.filter((c) => types[c.name] && types[c.name] !== c.type);

  const save = () =>
    run(async () => {
      setSaved('');
      const next = await send<Dataset>('PATCH', `datasets/${dataset.id}/columns`, {
        types: Object.fromEntries(changed.map((c) => [c.name, types[c.name]])),
      });
      setSaved(`Saved ${changed.length} column type${changed.length > 1 ? 's' : ''}.`);
      onSaved(next);
    });

  return (
    <Section
      title="Columns"
      actions={
        canEdit && (
          <button type="button" className="primary" disabled={changed.length === 0} onClick={() => void save()}>
            Save types
          </button>
        )
      }
    >
      <ErrorBox error={error} />
      {saved && <p role="status">{saved}</p>}
      <div className="columns-grid">
        {dataset.columns.map((c) => (
          <div className="field" key={c.name}>
            <label htmlFor={`type-${c.name}`}>{c.name}</label>
            <select id={`type-${c.name}`} disabled={!canEdit} value={types[c.name] ?? c.type} onChange={(e) => setTypes({ ...types, [c.name]: e.target.value })}>
              {TYPES.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </div>
        ))}
      </div>
    </Section>
  );
}

export function ProfileView({ profile }: { profile: Profile }) {
  return (
    <>
      <div className="profile-grid">
        {profile.columns.map((c) => (
          <ColumnCard key={c.name} column={c} />
        ))}
      </div>
      {profile.correlation && profile.correlation.columns.length > 1 && (
        <>
          <h3>Correlation</h3>
          <Heatmap columns={profile.correlation.columns} matrix={profile.correlation.matrix} />
        </>
      )}
    </>
  );
}

function ColumnCard({ column: c }: { column: ColumnProfile }) {
  return (
    <article className="column-card" aria-label={`Column ${c.name}`}>
      <h3>
        {c.name} <span className="badge">{c.type}</span>
      </h3>
      <dl className="stats">
        <dt>missing</dt>
        <dd>
          {c.missing.toLocaleString('en')} ({c.count + c.missing > 0 ? ((100 * c.missing) / (c.count + c.missing)).toFixed(1) : '0'}%)
        </dd>
        <dt>distinct</dt>
        <dd>{c.distinct.toLocaleString('en')}</dd>
        {c.mean !== null && (
          <>
            <dt>mean ± std</dt>
            <dd>
              {formatNumber(c.mean)} ± {formatNumber(c.std)}
            </dd>
            <dt>range</dt>
            <dd>
              {formatNumber(c.min)} to {formatNumber(c.max)}
            </dd>
          </>
        )}
      </dl>
      {c.histogram && <Histogram counts={c.histogram.counts} edges={c.histogram.edges} label={c.name} />}
      {c.top_values && <BarList label={`Top values of ${c.name}`} items={c.top_values.map((t) => ({ name: t.value, value: t.count }))} />}
    </article>
  );
}

function RowsPreview({ id }: { id: string }) {
  const [offset, setOffset] = useState(0);
  const page = useApi<RowsPage>(`datasets/${id}/rows?offset=${offset}&limit=${PAGE}`);
  const p = page.data;
  return (
    <Section
      title="Rows"
      actions={
        p && (
          <span className="pager">
            <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              Previous
            </button>
            <span>
              {p.total === 0 ? 0 : offset + 1}–{Math.min(offset + PAGE, p.total)} of {p.total.toLocaleString('en')}
            </span>
            <button type="button" disabled={offset + PAGE >= p.total} onClick={() => setOffset(offset + PAGE)}>
              Next
            </button>
          </span>
        )
      }
    >
      <ErrorBox error={page.error} />
      {!p ? (
        <Loading what="rows" />
      ) : (
        <div className="table-wrap">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">#</th>
                {p.columns.map((c, i) => (
                  <th scope="col" key={c} className={p.types[i] === 'number' || p.types[i] === 'integer' ? 'num' : undefined}>
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {p.rows.map((r, i) => (
                <tr key={offset + i}>
                  <td className="muted">{offset + i + 1}</td>
                  {r.map((v, j) => (
                    <td key={j} className={typeof v === 'number' ? 'num' : undefined}>
                      {v === null ? <span className="muted">null</span> : String(v)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

interface Share {
  user_id: string;
  email: string;
  role: string;
  created_at: string;
}

// Read-only sharing with other accounts, by email.
function Shares({ id }: { id: string }) {
  const shares = useApi<Page<Share>>(`datasets/${id}/shares`);
  const [email, setEmail] = useState('');
  const { error, run } = useAction();

  const share = (e: FormEvent) => {
    e.preventDefault();
    return run(async () => {
      await send('POST', `datasets/${id}/shares`, { email });
      setEmail('');
      shares.reload();
    });
  };
  const stop = (userId: string) =>
    run(async () => {
      await send('DELETE', `datasets/${id}/shares/${userId}`);
      shares.reload();
    });

  return (
    <Section title="Shared with">
      <form className="row-form" onSubmit={share} aria-label="Share the dataset">
        <div className="field">
          <label htmlFor="share-email">Email of an account (it may read, not change)</label>
          <input id="share-email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <button type="submit">Share</button>
      </form>
      <ErrorBox error={error} />
      <Listing
        state={shares}
        what="shares"
        empty="Not shared with anyone."
        rowKey={(sh) => sh.user_id}
        columns={[
          { header: 'Account', cell: (sh) => sh.email },
          { header: 'Role', cell: (sh) => sh.role },
          { header: 'Since', cell: (sh) => new Date(sh.created_at).toLocaleString() },
          {
            header: <span className="sr-only">Actions</span>,
            cell: (sh) => (
              <button type="button" onClick={() => void stop(sh.user_id)}>
                Stop sharing
              </button>
            ),
          },
        ]}
      />
    </Section>
  );
}

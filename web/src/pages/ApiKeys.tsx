// API keys for programs: create (the key is shown once), list, revoke. Admins may list everyone's.
import { useState, type FormEvent } from 'react';
import { send } from '../api/client';
import { useAction, useApi } from '../api/hooks';
import type { Page } from '../api/types';
import { useSession } from '../auth/session';
import { Listing } from '../components/Table';
import { ErrorBox, Section, formatTime } from '../components/ui';

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scope: string;
  revoked: boolean;
  user_id: string;
  created_at_us: number;
  last_used_at_us: number | null;
  key?: string;
}

export function ApiKeysPage() {
  const { user } = useSession();
  const [all, setAll] = useState(false);
  const keys = useApi<Page<ApiKey>>(`api-keys${all ? '?all=true' : ''}`);
  const [name, setName] = useState('');
  const [scope, setScope] = useState('predict');
  const [created, setCreated] = useState<ApiKey | null>(null);
  const { error, run } = useAction();

  const create = (e: FormEvent) => {
    e.preventDefault();
    return run(async () => {
      setCreated(await send<ApiKey>('POST', 'api-keys', { name, scope }));
      setName('');
      keys.reload();
    });
  };
  const revoke = (id: string) =>
    run(async () => {
      await send('DELETE', `api-keys/${id}`);
      keys.reload();
    });

  return (
    <>
      <h1>API keys</h1>
      <Section title="New key">
        <form className="row-form" onSubmit={create} aria-label="Create an API key">
          <div className="field">
            <label htmlFor="key-name">Name</label>
            <input id="key-name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="key-scope">Scope</label>
            <select id="key-scope" value={scope} onChange={(e) => setScope(e.target.value)}>
              <option value="predict">predict: prediction endpoints only</option>
              <option value="read">read: read-only endpoints</option>
              <option value="full">full: whatever your account may do</option>
            </select>
          </div>
          <button type="submit" className="primary">
            Create
          </button>
        </form>
        {created?.key && (
          <div className="notice" role="status">
            <p>
              Copy the key <strong>{created.name}</strong> now; it is not shown again:
            </p>
            <code className="secret">{created.key}</code>
          </div>
        )}
        <ErrorBox error={error} />
      </Section>
      <Section
        title="Keys"
        actions={
          user?.role === 'admin' && (
            <label className="inline">
              <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> every account's
            </label>
          )
        }
      >
        <Listing
          state={keys}
          what="keys"
          empty="No keys."
          rowKey={(k) => k.id}
          columns={[
            { header: 'Name', cell: (k) => k.name },
            { header: 'Prefix', cell: (k) => <code>{k.prefix}…</code> },
            { header: 'Scope', cell: (k) => k.scope },
            { header: 'Created', cell: (k) => formatTime(k.created_at_us) },
            { header: 'Last used', cell: (k) => formatTime(k.last_used_at_us) },
            {
              header: <span className="sr-only">Actions</span>,
              cell: (k) =>
                k.revoked ? (
                  <span className="badge badge-cancelled">revoked</span>
                ) : (
                  <button type="button" onClick={() => void revoke(k.id)}>
                    Revoke
                  </button>
                ),
            },
          ]}
        />
      </Section>
    </>
  );
}

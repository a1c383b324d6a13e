// Upload a dataset (with the bytes sent shown as they go) and list the datasets you can read.
import { useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { ApiError, upload } from '../api/client';
import { useApi } from '../api/hooks';
import type { Dataset, Page } from '../api/types';
import { useSession } from '../auth/session';
import { Listing } from '../components/Table';
import { ErrorBox, ProgressBar, Section, formatBytes } from '../components/ui';

export function DatasetsPage() {
  const { user } = useSession();
  const list = useApi<Page<Dataset>>('datasets?limit=100');
  return (
    <>
      <h1>Datasets</h1>
      {user?.role !== 'viewer' && <UploadForm onDone={list.reload} />}
      <Section title="Your datasets">
        <Listing
          state={list}
          what="datasets"
          empty="No datasets yet: upload a CSV, JSON or NDJSON file above."
          rowKey={(d) => d.id}
          columns={[
            { header: 'Name', cell: (d) => <Link to={`/datasets/${d.id}`}>{d.name}</Link> },
            { header: 'Rows', num: true, cell: (d) => d.rows.toLocaleString('en') },
            { header: 'Columns', num: true, cell: (d) => d.column_count },
            { header: 'Size', num: true, cell: (d) => formatBytes(d.size_bytes) },
            { header: 'Uploaded', cell: (d) => new Date(d.created_at).toLocaleString() },
          ]}
        />
      </Section>
    </>
  );
}

function UploadForm({ onDone }: { onDone: () => void }) {
  const file = useRef<HTMLInputElement>(null);
  const [name, setName] = useState('');
  const [progress, setProgress] = useState<{ sent: number; total: number } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<Dataset | null>(null);
  const abort = useRef<(() => void) | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const f = file.current?.files?.[0];
    if (!f) {
      setError(new ApiError(0, 'No file', 'choose a CSV, JSON or NDJSON file to upload'));
      return;
    }
    const form = new FormData();
    form.append('file', f, f.name);
    if (name.trim()) form.append('name', name.trim());
    setError(null);
    setDone(null);
    setProgress({ sent: 0, total: f.size });
    const job = upload<Dataset>('datasets', form, (sent, total) => setProgress({ sent, total: total || f.size }));
    abort.current = job.abort;
    try {
      setDone(await job.promise);
      onDone();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      abort.current = null;
      setProgress(null);
    }
  }

  return (
    <Section title="Upload">
      <form onSubmit={submit} className="row-form" aria-label="Upload a dataset">
        <div className="field">
          <label htmlFor="upload-file">File (CSV, JSON, NDJSON)</label>
          <input id="upload-file" ref={file} type="file" accept=".csv,.tsv,.txt,.json,.ndjson,.jsonl" />
        </div>
        <div className="field">
          <label htmlFor="upload-name">Name (optional)</label>
          <input id="upload-name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />
        </div>
        {progress ? (
          <button type="button" onClick={() => abort.current?.()}>
            Cancel
          </button>
        ) : (
          <button type="submit" className="primary">
            Upload
          </button>
        )}
      </form>
      {progress && (
        <div className="upload-progress">
          <ProgressBar value={progress.total ? progress.sent / progress.total : 0} label="Upload progress" />
          <span className="muted">
            {formatBytes(progress.sent)} of {formatBytes(progress.total)} sent
          </span>
        </div>
      )}
      <ErrorBox error={error} />
      {done && (
        <p role="status">
          Uploaded <Link to={`/datasets/${done.id}`}>{done.name}</Link>: {done.rows.toLocaleString('en')} rows, {done.column_count} columns.
        </p>
      )}
    </Section>
  );
}

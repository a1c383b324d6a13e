// Jobs, live: the list is refreshed every few seconds, and each unfinished job streams its
// progress as server-sent events until it ends. Cancel, retry, and the error of a failed job.
import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { request, send } from '../api/client';
import { useAction, useApi } from '../api/hooks';
import { readEvents } from '../api/sse';
import type { Job, Page } from '../api/types';
import { ErrorBox, Loading, ProgressBar, Section, StateBadge, formatTime } from '../components/ui';

const ACTIVE = new Set(['queued', 'running']);

export function JobsPage() {
  const [search] = useSearchParams();
  const highlight = search.get('job');
  const [state, setState] = useState('');
  const list = useApi<Page<Job>>(`jobs?limit=50${state ? `&state=${state}` : ''}`);
  const active = list.data?.items.some((j) => ACTIVE.has(j.state)) ?? false;
  const { reload } = list;
  useEffect(() => {
    const t = setInterval(reload, active ? 3000 : 10000);
    return () => clearInterval(t);
  }, [active, reload]);

  return (
    <>
      <h1>Jobs</h1>
      <Section
        title="Recent jobs"
        actions={
          <label className="inline">
            State{' '}
            <select value={state} onChange={(e) => setState(e.target.value)}>
              <option value="">all</option>
              {['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
        }
      >
        <ErrorBox error={list.error} />
        {!list.data ? (
          <Loading what="jobs" />
        ) : list.data.items.length === 0 ? (
          <p className="muted">No jobs yet. Training a model starts one.</p>
        ) : (
          <ul className="job-list">
            {list.data.items.map((j) => (
              <JobRow key={j.id} initial={j} highlight={j.id === highlight} onChanged={reload} />
            ))}
          </ul>
        )}
      </Section>
    </>
  );
}

export function JobRow({ initial, highlight, onChanged, onUpdate }: { initial: Job; highlight: boolean; onChanged: () => void; onUpdate?: (job: Job) => void }) {
  const [job, setJob] = useState(initial);
  const { error, run } = useAction();
  useEffect(() => setJob((j) => (initial.state !== j.state || initial.progress > j.progress || initial.attempt !== j.attempt ? initial : j)), [initial]);

  useEffect(() => onUpdate?.(job), [job, onUpdate]);

  const live = ACTIVE.has(job.state);
  useEffect(() => {
    if (!live) return;
    const ctl = new AbortController();
    (async () => {
      try {
        const res = await request(`jobs/${job.id}/events`, { signal: ctl.signal, headers: { Accept: 'text/event-stream' } });
        await readEvents(
          res,
          (e) => {
            if (e.event === 'job' || e.event === 'message') {
              try {
                setJob(JSON.parse(e.data) as Job);
              } catch {
                // a malformed event is skipped; the next poll corrects the row
              }
            }
          },
          ctl.signal,
        );
      } catch {
        // the list's polling keeps the row current
      }
    })();
    return () => ctl.abort();
  }, [job.id, live]);

  const act = (action: 'cancel' | 'retry') =>
    run(async () => {
      setJob(await send<Job>('POST', `jobs/${job.id}/${action}`));
      onChanged();
    });

  const modelId = (job.result as { model_id?: string } | null)?.model_id;
  const name = (job.params as { name?: string }).name;
  return (
    <li className={`job ${highlight ? 'highlight' : ''}`} aria-label={`Job ${job.type} ${job.state}`} data-job={job.id}>
      <div className="job-head">
        <strong>{job.type}</strong>
        {name && <span>{name}</span>}
        <StateBadge state={job.state} />
        <span className="muted">
          attempt {job.attempt} of {job.max_attempts} · created {formatTime(job.created_at_us)}
        </span>
        <span className="job-actions">
          {ACTIVE.has(job.state) && (
            <button type="button" disabled={job.cancel_requested} onClick={() => void act('cancel')}>
              {job.cancel_requested ? 'Cancelling…' : 'Cancel'}
            </button>
          )}
          {(job.state === 'failed' || job.state === 'cancelled') && (
            <button type="button" onClick={() => void act('retry')}>
              Retry
            </button>
          )}
          {modelId && <Link to={`/models/${modelId}`}>Open model</Link>}
        </span>
      </div>
      {(job.state === 'running' || job.state === 'queued') && (
        <div className="job-progress">
          <ProgressBar value={job.progress} label={`Progress of ${job.type}`} />
          <span className="muted">{job.progress_message}</span>
        </div>
      )}
      {job.error && (
        <p className="error-text" role="status">
          {job.error}
        </p>
      )}
      <ErrorBox error={error} />
    </li>
  );
}

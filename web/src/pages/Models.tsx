// The leaderboard of a dataset's models (best first by a test-split metric), and every version.
import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useApi } from '../api/hooks';
import type { Dataset, Leaderboard, Model, Page } from '../api/types';
import { ErrorBox, Loading, Section, formatNumber } from '../components/ui';

export function ModelsPage() {
  const [search, setSearch] = useSearchParams();
  const datasets = useApi<Page<Dataset>>('datasets?limit=100');
  const datasetId = search.get('dataset') ?? '';
  const [metric, setMetric] = useState('');
  useEffect(() => {
    if (!datasetId && datasets.data?.items.length) setSearch({ dataset: datasets.data.items[0].id }, { replace: true });
  }, [datasetId, datasets.data, setSearch]);
  useEffect(() => setMetric(''), [datasetId]);
  const board = useApi<Leaderboard>(datasetId ? `datasets/${datasetId}/leaderboard${metric ? `?metric=${encodeURIComponent(metric)}` : ''}` : null);
  const versions = useApi<Page<Model>>('models?limit=100');

  return (
    <>
      <h1>Models</h1>
      <Section
        title="Leaderboard"
        actions={
          <span className="inline-fields">
            <label className="inline">
              Dataset{' '}
              <select value={datasetId} onChange={(e) => setSearch({ dataset: e.target.value })}>
                {datasets.data?.items.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.name}
                  </option>
                ))}
              </select>
            </label>
            {board.data && board.data.metrics.length > 0 && (
              <label className="inline">
                Metric{' '}
                <select value={metric || board.data.metric} onChange={(e) => setMetric(e.target.value)}>
                  {board.data.metrics.map((m) => (
                    <option key={m}>{m}</option>
                  ))}
                </select>
              </label>
            )}
          </span>
        }
      >
        <ErrorBox error={datasets.error ?? board.error} />
        {!board.data ? (
          datasetId ? <Loading what="the leaderboard" /> : <p className="muted">No datasets yet.</p>
        ) : board.data.items.length === 0 ? (
          <p className="muted">No models of this dataset yet.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <caption className="muted">
                by {board.data.metric} on the test split ({board.data.higher_is_better ? 'higher' : 'lower'} is better)
              </caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Model</th>
                  <th scope="col">Algorithm</th>
                  <th scope="col">Target</th>
                  <th scope="col" className="num">
                    {board.data.metric}
                  </th>
                  <th scope="col" className="num">Fit (s)</th>
                </tr>
              </thead>
              <tbody>
                {board.data.items.map((m) => (
                  <tr key={m.model_id}>
                    <td>{m.rank}</td>
                    <td>
                      <Link to={`/models/${m.model_id}`}>
                        {m.name} v{m.version}
                      </Link>
                      {m.promoted && <span className="badge badge-succeeded">promoted</span>}
                    </td>
                    <td>{m.algorithm}</td>
                    <td>{m.target}</td>
                    <td className="num">{formatNumber(m.metrics[board.data!.metric])}</td>
                    <td className="num">{m.fit_seconds.toFixed(2)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      <Section title="All versions">
        <ErrorBox error={versions.error} />
        {!versions.data ? (
          <Loading what="models" />
        ) : versions.data.items.length === 0 ? (
          <p className="muted">No models yet.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Task</th>
                  <th scope="col">Algorithm</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {versions.data.items.map((m) => (
                  <tr key={m.id}>
                    <td>
                      <Link to={`/models/${m.id}`}>
                        {m.name} v{m.version}
                      </Link>
                      {m.promoted && <span className="badge badge-succeeded">promoted</span>}
                    </td>
                    <td>{m.task}</td>
                    <td>{m.algorithm}</td>
                    <td>{new Date(m.created_at).toLocaleString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}

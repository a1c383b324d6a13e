// The leaderboard of a dataset's models (best first by a test-split metric), and every version.
import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useApi } from '../api/hooks';
import type { Dataset, Leaderboard, Model, Page } from '../api/types';
import { Listing } from '../components/Table';
import { ErrorBox, Section, formatNumber } from '../components/ui';

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
        {datasets.error && <ErrorBox error={datasets.error} />}
        {datasetId ? (
          <Listing
            state={board}
            what="the leaderboard"
            empty="No models of this dataset yet."
            rowKey={(m) => m.model_id}
            caption={board.data && `by ${board.data.metric} on the test split (${board.data.higher_is_better ? 'higher' : 'lower'} is better)`}
            columns={[
              { header: '#', cell: (m) => m.rank },
              { header: 'Model', cell: (m) => <ModelLink id={m.model_id} name={m.name} version={m.version} promoted={m.promoted} /> },
              { header: 'Algorithm', cell: (m) => m.algorithm },
              { header: 'Target', cell: (m) => m.target },
              { header: board.data?.metric ?? 'metric', num: true, cell: (m) => formatNumber(m.metrics[board.data?.metric ?? '']) },
              { header: 'Fit (s)', num: true, cell: (m) => m.fit_seconds.toFixed(2) },
            ]}
          />
        ) : (
          <p className="muted">No datasets yet.</p>
        )}
      </Section>
      <Section title="All versions">
        <Listing
          state={versions}
          what="models"
          empty="No models yet."
          rowKey={(m) => m.id}
          columns={[
            { header: 'Model', cell: (m) => <ModelLink id={m.id} name={m.name} version={m.version} promoted={m.promoted} /> },
            { header: 'Task', cell: (m) => m.task },
            { header: 'Algorithm', cell: (m) => m.algorithm },
            { header: 'Created', cell: (m) => new Date(m.created_at).toLocaleString() },
          ]}
        />
      </Section>
    </>
  );
}

function ModelLink({ id, name, version, promoted }: { id: string; name: string; version: number; promoted: boolean }) {
  return (
    <>
      <Link to={`/models/${id}`}>
        {name} v{version}
      </Link>
      {promoted && <span className="badge badge-succeeded">promoted</span>}
    </>
  );
}

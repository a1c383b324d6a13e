import { cleanup, render } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { EvaluationCharts } from '../pages/Model';
import { suggestTask } from '../pages/Train';
import { ConfusionMatrix, Heatmap, Histogram, LineChart, correlationColour } from './charts';

afterEach(cleanup);

describe('charts', () => {
  it('draws one bar per histogram bin, the tallest full height', () => {
    const { container } = render(<Histogram counts={[1, 4, 2]} edges={[0, 1, 2, 3]} label="x" />);
    const bars = [...container.querySelectorAll('[data-testid="bar"]')];
    expect(bars).toHaveLength(3);
    const heights = bars.map((b) => Number(b.getAttribute('height')));
    expect(Math.max(...heights)).toBe(heights[1]);
    expect(heights[0] * 4).toBeCloseTo(heights[1]);
  });

  it('draws an n x n heatmap coloured by sign and strength', () => {
    const { container } = render(<Heatmap columns={['a', 'b', 'c']} matrix={[[1, 0.5, -1], [0.5, 1, null], [-1, null, 1]]} />);
    expect(container.querySelectorAll('[data-testid="cell"]')).toHaveLength(9);
    expect(correlationColour(1)).toBe('rgb(33,102,172)');
    expect(correlationColour(-1)).toBe('rgb(178,24,43)');
    expect(correlationColour(0)).toBe('rgb(255,255,255)');
    expect(correlationColour(null)).toBe('#eeeeee');
  });

  it('draws a line per series and a confusion matrix cell per count', () => {
    const { container } = render(
      <>
        <LineChart title="ROC" xLabel="x" yLabel="y" series={[{ name: 'a', x: [0, 1], y: [0, 1] }, { name: 'b', x: [0, 0.5, 1], y: [0, 0.9, 1] }]} />
        <ConfusionMatrix labels={['yes', 'no']} matrix={[[5, 1], [2, 7]]} />
      </>,
    );
    expect(container.querySelectorAll('[data-testid="series"]')).toHaveLength(2);
    expect([...container.querySelectorAll('table.confusion td')].map((td) => td.textContent)).toEqual(['5', '1', '2', '7']);
  });
});

describe('suggestTask', () => {
  it('follows the target column', () => {
    expect(suggestTask('category', 3)).toBe('multiclass');
    expect(suggestTask('boolean', 2)).toBe('binary');
    expect(suggestTask('number', 120)).toBe('regression');
    expect(suggestTask('integer', 4)).toBe('multiclass');
    expect(suggestTask(undefined, undefined)).toBe('clustering');
  });
});

describe('EvaluationCharts', () => {
  it('draws the residual plot and importance of a regression report, and no classification charts', () => {
    // The shape of a regression evaluation report (residual_plot, feature_importance).
    const report = {
      r2: 0.9,
      residual_plot: { predicted: [1, 2, 3, 4], residual: [0.1, -0.2, 0.05, 0] },
      feature_importance: [
        { feature: 'bmi', importance: 0.6 },
        { feature: 'age', importance: 0.1 },
      ],
      roc_curve: null,
      pr_curve: null,
    };
    const { container, getByRole } = render(<EvaluationCharts report={report} />);
    expect(container.querySelectorAll('[data-testid="point"]')).toHaveLength(4);
    expect(getByRole('table', { name: 'Feature importance' }).textContent).toContain('bmi');
    expect(container.querySelector('table.confusion')).toBeNull();
    expect(container.querySelectorAll('[data-testid="series"]')).toHaveLength(0);
  });
});

// spike: 10 VUs, then 100 at once, hold, back to 10. Run: k6 run k6/scenarios/spike/script.js
import { sessionIteration, thresholds } from '../../lib/mcp.js';

export const options = {
  scenarios: {
    spike: {
      executor: 'ramping-vus',
      startVUs: 10,
      stages: [
        { duration: '30s', target: 10 },
        { duration: '1s', target: 100 },
        { duration: '1m', target: 100 },
        { duration: '1s', target: 10 },
        { duration: '30s', target: 10 },
      ],
      gracefulRampDown: '10s',
    },
  },
  thresholds: thresholds(150),
};

export default function () {
  sessionIteration(20);
}

// stress: 50 -> 500 VUs in stages, each VU looping MCP sessions. Run:
// k6 run k6/scenarios/stress/script.js (hub on HUB_URL; raise `ulimit -n` for 500 VUs).
import { sessionIteration, thresholds } from '../../lib/mcp.js';

export const options = {
  scenarios: {
    stress: {
      executor: 'ramping-vus',
      startVUs: 50,
      stages: [
        { duration: '30s', target: 50 },
        { duration: '30s', target: 100 },
        { duration: '30s', target: 200 },
        { duration: '30s', target: 500 },
        { duration: '1m', target: 500 },
        { duration: '15s', target: 0 },
      ],
      gracefulRampDown: '15s',
    },
  },
  thresholds: thresholds(250),
};

export default function () {
  sessionIteration(50);
}

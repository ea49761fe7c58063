// basic: 20 VUs, ramping to 50, each VU looping MCP sessions (initialize, 20 requests 80/20
// call/list, DELETE). Run: k6 run k6/scenarios/basic/script.js (hub on HUB_URL).
import { sessionIteration, thresholds } from '../../lib/mcp.js';

export const options = {
  scenarios: {
    basic: {
      executor: 'ramping-vus',
      startVUs: 20,
      stages: [
        { duration: '30s', target: 20 },
        { duration: '30s', target: 50 },
        { duration: '1m', target: 50 },
        { duration: '10s', target: 0 },
      ],
      gracefulRampDown: '10s',
    },
  },
  thresholds: thresholds(50),
};

export default function () {
  sessionIteration(20);
}

import { SERVER_KINDS } from '../helpers/gateway-servers.js'
import { gatewayServerConformance } from '../conformance/gateway-server-suite.js'

for (const server of SERVER_KINDS) gatewayServerConformance(server)

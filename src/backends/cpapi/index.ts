export { CpapiBackend, type CpapiBackendOptions, createCpapiBackend } from './backend.js';
export { CAPTURE_FORMAT, CaptureRedactor, CaptureWriter, type Exchange, type ExchangeRecorder } from './capture.js';
export {
  codesForFields,
  FIELD_CODES,
  fieldsFromCodes,
  parseAvailability,
  parseFieldValue,
  parseIbNumber,
  parseLastPrice,
  parseSnapshotRow,
} from './fields.js';
export {
  allowedBars,
  BAR_SIZES,
  parseHistoryResponse,
  parseSpan,
  validateHistoryParams,
} from './history-rules.js';
export { CpapiHttp, type CpapiHttpOptions, isLoopbackHost } from './http.js';
export { DEFAULT_ENDPOINT_RULES, type EndpointRule, Pacer, type PacerOptions } from './limiter.js';
export { LST_PATH, type OAuthCredentials, type OAuthProblem, OAuthSigner } from './oauth.js';

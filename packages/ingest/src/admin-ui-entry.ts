/** `@flow-dispatcher/ingest/admin-ui`: the bull-board admin UI, mounted on the ingest service. */
export {
  type AdminUiOptions,
  adminUiOptionsFromConfig,
  checkAdminUiConfig,
  registerAdminUi,
} from './admin-ui/register-admin-ui.js';

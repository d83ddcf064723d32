export { accountPage } from './routes.js';
export { memorySessions, redisSessions } from './session.js';
export type { Session, SessionStore } from './session.js';
export { BANNER_CODES, bannerFor } from './banners.js';
export type { Banner } from './banners.js';
export { renderAccountPage, renderLoginPage, tierLabel } from './page.js';
export type { AccountPageView } from './page.js';

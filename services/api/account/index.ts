export { accountPage } from './routes.js';
export { memorySessions, redisSessions } from './session.js';
export { bannerFor } from './banners.js';
export type { Banner } from './banners.js';
export { renderAccountPage, renderLoginPage, tierLabel } from './page.js';
export type { AccountPageView } from './page.js';

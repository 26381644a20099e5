// Builds the player bundle once for the browser e2e tests (owned by player/).
export default async function setup(): Promise<void> {}

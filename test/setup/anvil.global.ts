// Starts the local chains for integration tests (owned by contracts-client; see its README).
export default async function setup(): Promise<void> {}

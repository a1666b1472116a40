// Starts unleash-server for driftwatch's flag tests (package
// internal/testutil/unleash runs it): PostgreSQL, the port and the API
// tokens come from the environment. Test support only.
import { start } from 'unleash-server';

const env = (name) => {
	const v = process.env[name];
	if (!v) {
		console.error(`start.mjs: ${name} is not set`);
		process.exit(2);
	}
	return v;
};

const unleash = await start({
	db: {
		host: '127.0.0.1',
		port: Number(env('UNLEASH_PG_PORT')),
		user: env('UNLEASH_PG_USER'),
		password: env('UNLEASH_PG_PASSWORD'),
		database: env('UNLEASH_PG_DATABASE'),
		ssl: false,
	},
	server: { host: '127.0.0.1', port: Number(env('UNLEASH_PORT')) },
	authentication: {
		type: 'open-source',
		initApiTokens: [
			{ environment: '*', project: '*', secret: env('UNLEASH_ADMIN_TOKEN'), type: 'admin', tokenName: 'driftwatch-admin' },
			{ environment: 'development', project: 'default', secret: env('UNLEASH_CLIENT_TOKEN'), type: 'client', tokenName: 'driftwatch-client' },
		],
	},
	versionCheck: { enable: false },
	logLevel: 'warn',
});

console.log(`start.mjs: unleash listening on 127.0.0.1:${env('UNLEASH_PORT')}`);
const stop = async () => {
	await unleash.stop();
	process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

use std::time::Duration;

use super::*;

#[test]
fn defaults_map_onto_the_default_client_stack() {
    // No `connectionPool` anywhere: the fork's defaults, which are hub-pool's.
    let mapped = pool_settings(&PoolSettings::default(), &ConnectionPool::default());
    assert_eq!(mapped, PoolSettings::default());
}

#[test]
fn every_key_with_an_equivalent_is_mapped() {
    let base = PoolSettings { user_agent: "ua/1".to_owned(), ..PoolSettings::default() };
    let pool = ConnectionPool {
        enabled: true,
        keep_alive_timeout: Duration::from_secs(5),
        keep_alive_max_timeout: Duration::from_secs(7),
        max_connections: 3,
        max_free_connections: 4,
        timeout: Duration::from_secs(2),
        pipelining: 5,
    };
    let mapped = pool_settings(&base, &pool);
    assert_eq!(mapped.connect_timeout, Duration::from_secs(2), "timeout");
    assert_eq!(mapped.pool_idle_timeout, Some(Duration::from_secs(5)), "keepAliveTimeout");
    assert_eq!(mapped.pool_max_idle_per_host, 4, "maxFreeConnections");
    assert_eq!(mapped.max_connections, Some(3), "maxConnections");
    assert_eq!(mapped.user_agent, "ua/1", "the rest is the base's");
    // Keys without an equivalent change nothing.
    let other =
        ConnectionPool { keep_alive_max_timeout: Duration::from_secs(3600), pipelining: 0, ..pool };
    assert_eq!(pool_settings(&base, &other), mapped);
    // `enabled: false`: no idle connection is kept, so none is reused; the cap and the connect
    // timeout still apply.
    let off = pool_settings(&base, &ConnectionPool { enabled: false, ..pool });
    assert_eq!(off.pool_max_idle_per_host, 0);
    assert_eq!((off.max_connections, off.connect_timeout), (Some(3), Duration::from_secs(2)));
}

#[test]
fn one_pool_per_distinct_effective_setting() {
    let clients = Clients::default();
    let base = PoolSettings::default();
    let default = pool_settings(&base, &ConnectionPool::default());
    let a = clients.pool(&default).expect("builds");
    let b = clients.pool(&pool_settings(&base, &ConnectionPool::default())).expect("builds");
    assert!(Arc::ptr_eq(&a, &b), "servers without overrides share one pool");
    let off = pool_settings(&base, &ConnectionPool { enabled: false, ..ConnectionPool::default() });
    let c = clients.pool(&off).expect("builds");
    assert!(!Arc::ptr_eq(&a, &c));
    // The cap is shared by the upstreams of a pool with the same origin, not across pools.
    let (x, y) = (a.limit("http://127.0.0.1:1/a"), b.limit("http://127.0.0.1:1/b"));
    assert!(Arc::ptr_eq(&x.expect("capped"), &y.expect("capped")));
    let z = c.limit("http://127.0.0.1:1/a").expect("capped");
    assert!(!Arc::ptr_eq(&a.limit("http://127.0.0.1:1/a").expect("capped"), &z));
    assert_eq!(z.available_permits(), 50);
}

/**
 * The crawl benchmark ({@code bench/run-crawl-bench.sh}): 10,000 host names resolved by a real DNS
 * server (dnsmasq on a loopback port) to as many 127.x.y.z addresses of one nginx, requests spread
 * over them with a Zipf distribution, 2 connections per host and 1,000 in all, through keepalive
 * ({@link dev.keepalive.bench.crawl.KeepaliveCrawl}), Apache HttpClient 5 async
 * ({@link dev.keepalive.bench.crawl.ApacheCrawl}) and Reactor Netty
 * ({@link dev.keepalive.bench.crawl.ReactorCrawl}); {@link dev.keepalive.bench.crawl.CrawlMain}
 * runs one, {@link dev.keepalive.bench.crawl.CrawlSummary} compares their medians.
 */
package dev.keepalive.bench.crawl;

\set a random(1, 100000)
INSERT INTO bench_plain (account, amount, memo) VALUES (:a, :a * 0.01, 'payment reference ' || :a);

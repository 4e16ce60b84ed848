DELETE FROM indicator_requirements;
DELETE FROM indicators;
DELETE FROM codes;
DELETE FROM regions;

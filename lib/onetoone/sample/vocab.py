"""Word lists for the sample client: names, places, stores, subjects, segments.

All lists are written here by hand (nothing is downloaded). Names and places are fictitious
combinations of common UK words; any resemblance to a real person is accidental.
"""

from __future__ import annotations

# --- people -------------------------------------------------------------------------------
FEMALE_NAMES = (
    "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophie", "Grace", "Mia", "Poppy", "Ella",
    "Lily", "Evie", "Isabella", "Charlotte", "Jessica", "Daisy", "Freya", "Alice", "Sarah",
    "Emma", "Hannah", "Lucy", "Rebecca", "Laura", "Rachel", "Claire", "Helen", "Karen",
    "Susan", "Margaret", "Elizabeth", "Catherine", "Victoria", "Katherine", "Jennifer",
    "Patricia", "Deborah", "Alexandra", "Samantha", "Rosemary", "Jacqueline", "Christine",
    "Amanda", "Nicola", "Joanne", "Fiona", "Gillian", "Zoë", "Chloé", "Renée", "Siobhán",
    "Aoife", "Niamh", "Mairéad", "Anaïs", "Priya", "Aisha", "Fatima", "Mei", "Agnieszka",
)
MALE_NAMES = (
    "Oliver", "George", "Harry", "Noah", "Jack", "Leo", "Arthur", "Oscar", "Charlie",
    "Jacob", "Thomas", "James", "William", "John", "David", "Richard", "Robert", "Michael",
    "Christopher", "Daniel", "Matthew", "Andrew", "Peter", "Paul", "Mark", "Stephen",
    "Anthony", "Edward", "Benjamin", "Samuel", "Joseph", "Nicholas", "Jonathan", "Alexander",
    "Timothy", "Philip", "Simon", "Graham", "Ian", "Kevin", "Gareth", "Rhys", "Dafydd",
    "Callum", "Hamish", "Ewan", "Seán", "Ciarán", "Niall", "José", "André", "Raj", "Mohammed",
    "Omar", "Tomasz", "Piotr", "Wei", "Kwame", "Dominic", "Frederick",
)
NICKNAMES = {
    "William": ("Bill", "Will", "Billy"), "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Robert": ("Bob", "Rob", "Bobby"), "Richard": ("Rick", "Dick", "Rich"),
    "Margaret": ("Maggie", "Peggy", "Meg"), "Katherine": ("Kate", "Kathy", "Katie"),
    "Catherine": ("Cathy", "Kate", "Cath"), "Michael": ("Mike", "Mick"),
    "Christopher": ("Chris",), "Jennifer": ("Jen", "Jenny"), "Patricia": ("Pat", "Trish"),
    "Anthony": ("Tony", "Ant"), "Edward": ("Ed", "Ted", "Eddie"), "Benjamin": ("Ben",),
    "Samuel": ("Sam",), "Samantha": ("Sam", "Sammy"), "Joseph": ("Joe",),
    "Nicholas": ("Nick", "Nicky"), "Jonathan": ("Jon", "Jonny"), "Alexander": ("Alex", "Sandy"),
    "Alexandra": ("Alex", "Lexi"), "Timothy": ("Tim",), "Philip": ("Phil",), "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",), "Andrew": ("Andy", "Drew"), "Stephen": ("Steve",), "Thomas": ("Tom", "Tommy"),
    "James": ("Jim", "Jamie"), "David": ("Dave",), "Peter": ("Pete",), "Victoria": ("Vicky", "Tori"),
    "Deborah": ("Debbie", "Deb"), "Rebecca": ("Becky", "Becca"), "Jacqueline": ("Jackie",),
    "Christine": ("Chris", "Chrissie"), "Susan": ("Sue", "Susie"), "Frederick": ("Fred", "Freddie"),
    "Amanda": ("Mandy",), "Gillian": ("Gill",), "Dominic": ("Dom",), "Isabella": ("Bella", "Izzy"),
    "Charlotte": ("Lottie", "Charlie"), "Jessica": ("Jess",), "Rosemary": ("Rosie",),
}
SURNAMES = (
    # the first few are very common on purpose, so that full names collide between people
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood",
    "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King",
    "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis",
    "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter",
    "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards",
    "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson",
    "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain",
    "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd",
    "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey",
    "Graham", "Pearson", "Ahmed", "Fletcher", "Walsh", "Kaur", "Gibson", "Howard", "Andrews",
    "Stewart", "Elliott", "Reynolds", "Saunders", "Payne", "Fox", "Ford", "Pearce", "Day",
    "Brooks", "West", "Lawrence", "Cole", "Atkinson", "Bradley", "Spencer", "Gill", "Dawson",
    "Ball", "Burton", "O'Brien", "Watts", "Rose", "Booth", "Perry", "Ryan", "Grant", "Wells",
    "Armstrong", "Francis", "Rees", "Hayes", "Hart", "Hudson", "Newman", "Barrett", "Webster",
    "Hunter", "Gregory", "Carr", "Lowe", "Page", "Marsh", "Riley", "Dunn", "Woods", "Parsons",
    "Berry", "Stone", "Reid", "Holland", "Hawkins", "Harding", "Porter", "Robertson", "Newton",
    "Oliver", "Reed", "Kennedy", "Williamson", "Bird", "Gardner", "Shah", "Dean", "Lane",
    "Cooke", "Bates", "Henderson", "Parry", "Burgess", "Bishop", "Walton", "Burns", "Nicholson",
    "Shepherd", "Ross", "Cross", "Long", "Freeman", "Warren", "Nicholls", "Hamilton", "Byrne",
    "Sutton", "McDonald", "Yates", "Hodgson", "Robson", "Curtis", "Hopkins", "O'Connor",
    "Harper", "Coleman", "Watkins", "Moss", "McCarthy", "Chambers", "O'Neill", "Griffin",
    "Sharp", "Hardy", "Wheeler", "Potter", "Osborne", "Johnston", "Gordon", "Doyle", "Wallace",
    "George", "Jordan", "Hutchinson", "Rowe", "Burke", "May", "Pritchard", "Gilbert", "Willis",
    "Higgins", "Read", "Miles", "Stevenson", "Stephenson", "Hammond", "Arnold", "Buckley",
    "Walters", "Hewitt", "Barber", "Nelson", "Slater", "Austin", "Sullivan", "Whitehead",
    "Mann", "Frost", "Lambert", "Stephens", "Blake", "Akhtar", "Lynch", "Goodwin", "Barton",
    "Woodward", "Thomson", "Cunningham", "Quinn", "Barnett", "Baxter", "Bibi", "Clayton",
    "Nash", "Greenwood", "Jennings", "Holt", "Kemp", "Poole", "Gallagher", "Bond", "Stokes",
    "Tucker", "Davidson", "Fowler", "Heath", "Norman", "Middleton", "Lawson", "Banks", "French",
    "Stanley", "Jarvis", "Gibbs", "Ferguson", "Hayward", "Carroll", "Farrell", "Duncan", "Nowak",
    "Kowalski", "Müller", "Fernández", "Núñez", "Björk", "Dubois", "Lefèvre", "Chen", "Wang",
)
EMAIL_DOMAINS = ("gmail.com", "hotmail.co.uk", "outlook.com", "yahoo.co.uk", "btinternet.com",
                 "icloud.com", "sky.com", "live.co.uk", "aol.com", "virginmedia.com")
WORK_DOMAINS = ("harrisonlegal.co.uk", "northbridge-eng.co.uk", "parkview-dental.co.uk",
                "bluecedar.co.uk", "oakfield-ltd.co.uk", "kestrelmedia.co.uk", "ambercourt.org.uk")

STREET_WORDS = ("High", "Church", "Station", "Victoria", "Park", "Mill", "Queen", "King",
                "Manor", "Green", "Grange", "Meadow", "Orchard", "Chestnut", "Willow", "Oak",
                "Beech", "Elm", "Cedar", "Windsor", "Albert", "York", "Riverside", "Springfield",
                "Kingsway", "Highfield", "Rectory", "Mount Pleasant", "School", "Castle", "Forest",
                "Bridge", "Hillside", "New", "North", "South", "West", "London", "Cromwell",
                "Nelson", "Wellington", "Marlborough", "Grosvenor", "Clarence", "Harbour", "Abbey")
STREET_TYPES = ("Road", "Street", "Lane", "Avenue", "Close", "Drive", "Way", "Gardens",
                "Crescent", "Place", "Terrace", "Grove")

# region -> towns: (town, postcode area, landline area code)
REGIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "London": (("London", "SW", "20"), ("London", "N", "20"), ("London", "E", "20"),
               ("London", "SE", "20"), ("London", "NW", "20"), ("Croydon", "CR", "20"),
               ("Kingston upon Thames", "KT", "20")),
    "South East": (("Brighton", "BN", "1273"), ("Guildford", "GU", "1483"),
                   ("Reading", "RG", "118"), ("Oxford", "OX", "1865"),
                   ("Southampton", "SO", "23"), ("Canterbury", "CT", "1227")),
    "South West": (("Bristol", "BS", "117"), ("Exeter", "EX", "1392"), ("Bath", "BA", "1225"),
                   ("Plymouth", "PL", "1752"), ("Cheltenham", "GL", "1242")),
    "East": (("Norwich", "NR", "1603"), ("Cambridge", "CB", "1223"), ("Ipswich", "IP", "1473"),
             ("Chelmsford", "CM", "1245")),
    "Midlands": (("Birmingham", "B", "121"), ("Nottingham", "NG", "115"),
                 ("Leicester", "LE", "116"), ("Coventry", "CV", "24"), ("Derby", "DE", "1332")),
    "North West": (("Manchester", "M", "161"), ("Liverpool", "L", "151"),
                   ("Chester", "CH", "1244"), ("Preston", "PR", "1772"),
                   ("Stockport", "SK", "161")),
    "North East": (("Newcastle upon Tyne", "NE", "191"), ("Leeds", "LS", "113"),
                   ("Sheffield", "S", "114"), ("York", "YO", "1904"), ("Durham", "DH", "191")),
    "Scotland": (("Glasgow", "G", "141"), ("Edinburgh", "EH", "131"), ("Aberdeen", "AB", "1224"),
                 ("Dundee", "DD", "1382")),
    "Wales": (("Cardiff", "CF", "29"), ("Swansea", "SA", "1792"), ("Newport", "NP", "1633")),
}
REGION_WEIGHTS = {"London": 0.20, "South East": 0.15, "South West": 0.10, "East": 0.09,
                  "Midlands": 0.14, "North West": 0.12, "North East": 0.10, "Scotland": 0.06,
                  "Wales": 0.04}
# stores per region (location names as the POS system spells them)
STORES: dict[str, tuple[str, ...]] = {
    "London": ("LDN Covent Garden", "LDN Westfield", "LDN Croydon"),
    "South East": ("Brighton Churchill Sq", "Reading Oracle", "Southampton WestQuay"),
    "South West": ("Bristol Cabot Circus", "Exeter Princesshay"),
    "East": ("Norwich Chapelfield", "Cambridge Grand Arcade"),
    "Midlands": ("Birmingham Bullring", "Nottingham Victoria"),
    "North West": ("Manchester Arndale", "Liverpool One"),
    "North East": ("Leeds Trinity", "Newcastle Eldon Sq", "Sheffield Meadowhall"),
    "Scotland": ("Glasgow Buchanan", "Edinburgh St James"),
    "Wales": ("Cardiff St Davids",),
}

# --- catalogue ------------------------------------------------------------------------------
# category -> subject -> (typical price, nouns used in product names)
CATALOGUE: dict[str, dict[str, tuple[float, tuple[str, ...]]]] = {
    "home": {
        "lighting": (45.0, ("Table Lamp", "Floor Lamp", "Pendant Shade", "LED Strip", "Wall Light")),
        "textiles": (35.0, ("Throw", "Cushion Cover", "Duvet Set", "Curtains", "Rug")),
        "furniture": (320.0, ("Sideboard", "Bookcase", "Coffee Table", "Armchair", "Desk")),
        "decor": (25.0, ("Vase", "Mirror", "Candle Set", "Picture Frame", "Wall Clock")),
    },
    "kitchen": {
        "baking": (22.0, ("Cake Tin", "Mixing Bowl", "Rolling Pin", "Stand Mixer", "Baking Tray")),
        "coffee": (55.0, ("Cafetière", "Espresso Machine", "Grinder", "Milk Frother", "Mug Set")),
        "cookware": (60.0, ("Frying Pan", "Casserole Dish", "Saucepan Set", "Wok", "Knife Block")),
        "tableware": (30.0, ("Dinner Set", "Glass Set", "Cutlery Set", "Serving Platter", "Napkins")),
    },
    "garden": {
        "planting": (15.0, ("Seed Collection", "Planter", "Compost Bin", "Bulb Mix", "Propagator")),
        "garden_furniture": (240.0, ("Bistro Set", "Lounger", "Bench", "Parasol", "Dining Set")),
        "garden_tools": (40.0, ("Spade", "Secateurs", "Hose Reel", "Lawn Mower", "Wheelbarrow")),
        "outdoor_living": (70.0, ("Fire Pit", "Barbecue", "Festoon Lights", "Heater", "Hammock")),
    },
    "books": {
        "crime_fiction": (10.0, ("Mystery", "Thriller", "Detective Novel", "Case File", "Box Set")),
        "history": (18.0, ("History", "Biography", "Atlas", "Chronicle", "Memoir")),
        "cookery_books": (20.0, ("Cookbook", "Baking Book", "Recipe Collection", "Kitchen Guide",
                                 "Vegetarian Cookbook")),
        "childrens_books": (8.0, ("Picture Book", "Story Collection", "Activity Book", "Fairy Tales",
                                  "First Reader")),
        "travel": (15.0, ("Travel Guide", "Walking Guide", "Road Atlas", "Phrasebook", "City Guide")),
    },
    "toys": {
        "construction": (35.0, ("Building Set", "Marble Run", "Train Set", "Brick Bucket", "Robot Kit")),
        "dolls": (25.0, ("Doll", "Doll House", "Plush Toy", "Puppet", "Play Kitchen")),
        "board_games": (28.0, ("Board Game", "Jigsaw", "Card Game", "Strategy Game", "Quiz Game")),
        "outdoor_play": (60.0, ("Scooter", "Trampoline", "Paddling Pool", "Swing", "Football Goal")),
    },
    "electronics": {
        "audio": (90.0, ("Headphones", "Speaker", "Soundbar", "Turntable", "Radio")),
        "gaming": (55.0, ("Controller", "Game", "Gaming Headset", "Console Stand", "Gaming Chair")),
        "computing": (180.0, ("Laptop Sleeve", "Monitor", "Keyboard", "Tablet", "Router")),
        "smart_home": (70.0, ("Smart Plug", "Doorbell Camera", "Thermostat", "Smart Bulb", "Hub")),
    },
    "fashion": {
        "womenswear": (45.0, ("Dress", "Blouse", "Knit Jumper", "Coat", "Jeans")),
        "menswear": (45.0, ("Shirt", "Chinos", "Jacket", "Jumper", "Polo")),
        "shoes": (65.0, ("Trainers", "Boots", "Loafers", "Sandals", "Slippers")),
        "accessories": (25.0, ("Scarf", "Bag", "Belt", "Hat", "Wallet")),
    },
    "outdoor": {
        "camping": (80.0, ("Tent", "Sleeping Bag", "Camping Stove", "Lantern", "Cool Box")),
        "cycling": (60.0, ("Helmet", "Bike Light", "Cycling Jacket", "Lock", "Pannier")),
        "hiking": (70.0, ("Walking Boots", "Rucksack", "Waterproof", "Trekking Poles", "Fleece")),
        "running": (50.0, ("Running Shoes", "Running Vest", "Sports Watch", "Leggings", "Water Belt")),
    },
}
ADJECTIVES = ("Classic", "Nordic", "Harbour", "Coastal", "Heritage", "Urban", "Studio", "Cottage",
              "Essential", "Premium", "Compact", "Deluxe", "Everyday", "Vintage", "Modern",
              "Highland", "Meadow", "Slate", "Ember", "Willow", "Aspen", "Linen", "Copper", "Indigo")

# configurable base products: (subject, name, base price, modules {module: [(option, price)]})
CONFIGURABLE: tuple[tuple[str, str, float, dict[str, tuple[tuple[str, float], ...]]], ...] = (
    ("furniture", "Modular Sofa", 899.0, {
        "size": (("2-seater", 0), ("3-seater", 250), ("Corner", 600)),
        "fabric": (("Woven grey", 0), ("Velvet green", 120), ("Leather tan", 450)),
        "legs": (("Oak", 0), ("Black metal", 40), ("Brass", 90)),
        "cushions": (("Fibre", 0), ("Feather", 150))}),
    ("furniture", "Made-to-measure Wardrobe", 750.0, {
        "width": (("100 cm", 0), ("150 cm", 220), ("200 cm", 420)),
        "doors": (("Hinged", 0), ("Sliding", 180), ("Mirrored sliding", 320)),
        "finish": (("White", 0), ("Oak veneer", 140), ("Painted sage", 110)),
        "interior": (("Rail only", 0), ("Shelves + rail", 90), ("Drawers + rail", 160))}),
    ("furniture", "Storage Bed", 620.0, {
        "size": (("Double", 0), ("King", 150), ("Super king", 280)),
        "storage": (("None", 0), ("Drawers", 160), ("Ottoman lift", 240)),
        "headboard": (("Panel", 0), ("Buttoned", 90), ("Wingback", 170))}),
    ("furniture", "Modular Bookcase", 280.0, {
        "units": (("2 units", 0), ("3 units", 140), ("5 units", 330)),
        "finish": (("Oak", 0), ("Walnut", 80), ("White", 0)),
        "doors": (("Open", 0), ("Glass doors", 110))}),
    ("furniture", "Home Office Desk", 340.0, {
        "top": (("120 cm", 0), ("160 cm", 90)),
        "frame": (("Fixed", 0), ("Sit-stand electric", 310)),
        "drawers": (("None", 0), ("Pedestal", 120)),
        "finish": (("Oak", 0), ("Black", 20), ("White", 0))}),
    ("cookware", "Fitted Kitchen Unit Run", 1450.0, {
        "length": (("2.4 m", 0), ("3.6 m", 900), ("4.8 m", 1700)),
        "doors": (("Shaker", 0), ("Handleless gloss", 380), ("Solid oak", 720)),
        "worktop": (("Laminate", 0), ("Oak block", 420), ("Quartz", 1150)),
        "sink": (("Stainless", 0), ("Ceramic Belfast", 260))}),
    ("cookware", "Range Cooker", 1190.0, {
        "width": (("90 cm", 0), ("110 cm", 380)),
        "fuel": (("Dual fuel", 0), ("Induction", 290)),
        "colour": (("Black", 0), ("Cream", 60), ("Racing green", 60))}),
    ("coffee", "Bean-to-cup Coffee Station", 540.0, {
        "machine": (("Single boiler", 0), ("Dual boiler", 380)),
        "grinder": (("Built-in", 0), ("Separate burr", 160)),
        "milk": (("Steam wand", 0), ("Auto frother", 120))}),
    ("computing", "Custom Desktop PC", 780.0, {
        "cpu": (("6-core", 0), ("8-core", 180), ("12-core", 420)),
        "gpu": (("Integrated", 0), ("Mid-range", 340), ("High-end", 890)),
        "memory": (("16 GB", 0), ("32 GB", 90), ("64 GB", 240)),
        "storage": (("1 TB SSD", 0), ("2 TB SSD", 110)),
        "case": (("Compact", 0), ("Tower", 60), ("Silent tower", 120))}),
    ("computing", "Custom Laptop", 920.0, {
        "screen": (("14 inch", 0), ("16 inch", 210)),
        "cpu": (("Standard", 0), ("Performance", 260)),
        "memory": (("16 GB", 0), ("32 GB", 160)),
        "storage": (("512 GB", 0), ("1 TB", 120))}),
    ("gaming", "Gaming Rig", 1290.0, {
        "gpu": (("Mid-range", 0), ("High-end", 550), ("Flagship", 1100)),
        "cooling": (("Air", 0), ("Liquid", 140)),
        "lighting": (("None", 0), ("RGB", 40))}),
    ("audio", "Hi-fi System", 690.0, {
        "amplifier": (("Integrated", 0), ("Pre/power", 480)),
        "speakers": (("Bookshelf", 0), ("Floorstanding", 360)),
        "source": (("Streamer", 0), ("Turntable", 220), ("CD + streamer", 260))}),
    ("smart_home", "Smart Home Bundle", 260.0, {
        "hub": (("Basic hub", 0), ("Pro hub", 90)),
        "security": (("None", 0), ("Doorbell camera", 120), ("Full camera kit", 340)),
        "heating": (("None", 0), ("Smart thermostat", 150))}),
    ("cycling", "Made-to-order Road Bike", 1150.0, {
        "frame": (("Aluminium", 0), ("Carbon", 900)),
        "groupset": (("Entry", 0), ("Mid", 380), ("Electronic", 1250)),
        "wheels": (("Alloy", 0), ("Carbon deep", 850)),
        "size": (("S", 0), ("M", 0), ("L", 0), ("XL", 0))}),
    ("cycling", "E-bike", 1890.0, {
        "battery": (("400 Wh", 0), ("625 Wh", 320)),
        "frame": (("Step-through", 0), ("Crossbar", 0)),
        "rack": (("None", 0), ("Rear rack", 60), ("Rack + panniers", 140))}),
    ("cycling", "Family Cargo Bike", 2400.0, {
        "box": (("Standard", 0), ("Extended with bench", 420)),
        "motor": (("None", 0), ("Mid-drive", 1400)),
        "cover": (("None", 0), ("Rain canopy", 190))}),
    ("camping", "Tent System", 420.0, {
        "size": (("2-person", 0), ("4-person", 180), ("6-person", 390)),
        "extension": (("None", 0), ("Porch", 120), ("Awning", 240)),
        "groundsheet": (("Standard", 0), ("Insulated carpet", 80))}),
    ("hiking", "Fitted Walking Kit", 310.0, {
        "boots": (("Fabric", 0), ("Leather", 90)),
        "pack": (("30 litre", 0), ("45 litre", 40)),
        "shell": (("Standard", 0), ("Gore-tex", 140))}),
    ("garden_furniture", "Garden Room", 4200.0, {
        "size": (("2.5 x 2.5 m", 0), ("3 x 4 m", 2100)),
        "cladding": (("Larch", 0), ("Composite", 900)),
        "glazing": (("Double", 0), ("Triple", 650)),
        "electrics": (("None", 0), ("Sockets + lights", 780))}),
    ("garden_furniture", "Modular Garden Sofa", 980.0, {
        "layout": (("3-seat", 0), ("Corner", 520), ("U-shape", 940)),
        "weave": (("Grey rattan", 0), ("Natural rattan", 90)),
        "cover": (("None", 0), ("Weather cover", 70))}),
    ("garden_tools", "Robotic Mower Package", 890.0, {
        "area": (("500 m2", 0), ("1500 m2", 420)),
        "garage": (("None", 0), ("Mower garage", 110)),
        "install": (("Self", 0), ("Professional install", 190))}),
    ("outdoor_living", "Outdoor Kitchen", 1650.0, {
        "grill": (("Gas 3-burner", 0), ("Gas 5-burner", 450), ("Kamado", 380)),
        "counter": (("Steel", 0), ("Stone", 620)),
        "extras": (("None", 0), ("Pizza oven", 540), ("Side burner", 180))}),
    ("lighting", "Made-to-measure Blinds", 160.0, {
        "type": (("Roller", 0), ("Roman", 90), ("Venetian wood", 130)),
        "control": (("Chain", 0), ("Motorised", 210)),
        "lining": (("Standard", 0), ("Blackout", 35))}),
    ("textiles", "Made-to-measure Curtains", 190.0, {
        "fabric": (("Cotton", 0), ("Linen", 80), ("Velvet", 140)),
        "lining": (("Standard", 0), ("Blackout", 45), ("Thermal", 60)),
        "heading": (("Pencil pleat", 0), ("Eyelet", 20), ("Pinch pleat", 70))}),
    ("womenswear", "Tailored Coat", 260.0, {
        "fabric": (("Wool blend", 0), ("Pure wool", 120), ("Cashmere blend", 260)),
        "length": (("Hip", 0), ("Knee", 40)),
        "lining": (("Plain", 0), ("Printed silk", 60))}),
    ("menswear", "Made-to-measure Suit", 480.0, {
        "cloth": (("Wool", 0), ("Super 120s", 220), ("Linen", 60)),
        "cut": (("Regular", 0), ("Slim", 0), ("Tailored", 90)),
        "trousers": (("One pair", 0), ("Two pairs", 140))}),
    ("shoes", "Custom Trainers", 130.0, {
        "upper": (("Mesh", 0), ("Leather", 45), ("Suede", 55)),
        "sole": (("White", 0), ("Gum", 10), ("Black", 0)),
        "lace": (("Standard", 0), ("Reflective", 8))}),
    ("construction", "Build-your-own Train Layout", 210.0, {
        "track": (("Oval", 0), ("Figure of eight", 60), ("Two-level", 140)),
        "engine": (("Steam", 0), ("Diesel", 0), ("Remote control", 90)),
        "scenery": (("None", 0), ("Village pack", 70))}),
    ("outdoor_play", "Climbing Frame", 520.0, {
        "tower": (("Single", 0), ("Double", 280)),
        "slide": (("Straight", 0), ("Wave", 70), ("Tube", 190)),
        "swings": (("None", 0), ("Two swings", 120), ("Nest swing", 150))}),
    ("tableware", "Personalised Dinner Service", 180.0, {
        "pieces": (("12-piece", 0), ("24-piece", 120)),
        "pattern": (("Plain", 0), ("Botanical", 40), ("Monogram", 60)),
        "glaze": (("Gloss", 0), ("Matt", 20))}),
)

# --- segments ---------------------------------------------------------------------------------
# name -> share of people, category weights, channel weights, price sensitivity (share of lines
# bought on promotion), return rate, inbound service contacts per year, spend scale
SEGMENTS: dict[str, dict] = {
    "Nest builders": {
        "share": 0.20, "cats": {"home": 4, "kitchen": 3, "garden": 0.8, "books": 0.3},
        "chan": {"store": 0.57, "web": 0.40, "mail": 0.03}, "promo": 0.15, "returns": 0.04, "service": 0.6,
        "spend": 1.5},
    "Tech enthusiasts": {
        "share": 0.17, "cats": {"electronics": 5, "books": 0.8, "outdoor": 0.6},
        "chan": {"store": 0.20, "web": 0.80}, "promo": 0.20, "returns": 0.06, "service": 0.5, "spend": 1.3},
    "Young families": {
        "share": 0.20, "cats": {"toys": 4, "books": 1.5, "fashion": 1.2, "kitchen": 0.4},
        "chan": {"store": 0.65, "web": 0.35}, "promo": 0.40, "returns": 0.05, "service": 0.5, "spend": 0.9},
    "Outdoor and garden": {
        "share": 0.15, "cats": {"outdoor": 4, "garden": 3.5, "fashion": 0.3},
        "chan": {"store": 0.64, "web": 0.28, "mail": 0.08}, "promo": 0.15, "returns": 0.03, "service": 0.4,
        "spend": 1.2},
    "Bargain hunters": {
        "share": 0.15, "cats": {"fashion": 4, "electronics": 1.2, "home": 1.0, "toys": 0.5},
        "chan": {"store": 0.50, "web": 0.50}, "promo": 0.75, "returns": 0.10, "service": 1.2, "spend": 0.6},
    "Readers and gift buyers": {
        "share": 0.13, "cats": {"books": 5, "kitchen": 0.8, "toys": 0.5},
        "chan": {"store": 0.45, "web": 0.30, "mail": 0.25}, "promo": 0.20, "returns": 0.02, "service": 0.8,
        "spend": 0.7},
}

INTEREST_WORDS = {
    "home": "interiors", "kitchen": "cooking", "garden": "gardening", "books": "reading",
    "toys": "family", "electronics": "technology", "fashion": "fashion", "outdoor": "outdoors",
}
QUESTION_TOPICS = ("birth_date", "household_size", "interests", "preferred_channel", "email",
                   "phone")
COMPLAINT_TOPICS = ("late delivery", "damaged item", "refund delay", "wrong item", "rude staff",
                    "billing error", "missing part")
ENQUIRY_TOPICS = ("order status", "stock check", "product advice", "opening hours",
                  "delivery options", "assembly service", "warranty")
SERVICE_TOPICS = ("return", "repair", "installation", "exchange", "account update")
